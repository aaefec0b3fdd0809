package kubernetes.admission

deny[msg] {
  input.request.kind.kind == "Deployment"
  input.request.object.metadata.labels.app == "ai-inference"
  not input.request.object.metadata.labels["responsible-ai-compliance"]
  msg := "AI inference deployments must have responsible-ai-compliance label"
}

deny[msg] {
  input.request.kind.kind == "Deployment"
  input.request.object.metadata.labels.app == "ai-inference"
  not input.request.object.metadata.annotations["ai-alignment-status"]
  msg := "AI inference deployments must have ai-alignment-status annotation"
}
