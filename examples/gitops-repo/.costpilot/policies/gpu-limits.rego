package kubernetes.admission

# No container may ask for more than 4 GPUs. (The helper printed with this policy called re_match,
# a deprecated built-in rego-cpp lacks, and to_int, which OPA never had: the built-in to_number.)
deny[msg] {
  input.request.kind.kind == "Deployment"
  container := input.request.object.spec.template.spec.containers[_]
  gpus := to_number(container.resources.limits["nvidia.com/gpu"])
  gpus > 4
  msg := sprintf("Container %v requests %v GPUs; the maximum is 4 per container", [container.name, gpus])
}
