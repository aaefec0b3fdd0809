"""The sample GitOps repository's Rego policies (``.costpilot/policies/``): the two the seed
documents print — a Deployment may not ask for more than 4 GPUs per container; an
``ai-inference`` Deployment must carry the ``responsible-ai-compliance`` label and the
``ai-alignment-status`` annotation. The responsible-AI one as printed; the GPU one with OPA's
built-in ``to_number`` in place of the printed helper (which called ``re_match`` and ``to_int``:
the first is a deprecated built-in rego-cpp lacks, the second is not OPA at all).

``render_repo`` adds these files; ``examples/gitops-repo/`` holds the same bytes.
"""

from __future__ import annotations

GPU_LIMITS = """\
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
"""

RESPONSIBLE_AI = """\
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
"""


def sample_policies() -> dict[str, str]:
    """Relative path → text of every policy file of the sample repository."""
    return {
        ".costpilot/policies/gpu-limits.rego": GPU_LIMITS,
        ".costpilot/policies/responsible-ai.rego": RESPONSIBLE_AI,
    }
