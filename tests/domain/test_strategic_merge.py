from domain.strategic_merge import strategic_merge


def test_containers_merge_by_name_and_maps_key_by_key() -> None:
    base = {
        "spec": {
            "replicas": 2,
            "containers": [
                {
                    "name": "api",
                    "image": "api:1",
                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                },
                {"name": "proxy", "image": "envoy:1"},
            ],
        }
    }
    patch = {
        "spec": {"replicas": 4, "containers": [{"name": "api", "resources": {"requests": {"cpu": "250m"}}}]}
    }
    merged = strategic_merge(base, patch)
    assert merged["spec"]["replicas"] == 4
    api, proxy = merged["spec"]["containers"]
    assert api == {
        "name": "api",
        "image": "api:1",
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}},
    }
    assert proxy == {"name": "proxy", "image": "envoy:1"}
    assert base["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "500m"  # input untouched


def test_unnamed_lists_and_scalars_are_replaced() -> None:
    assert strategic_merge({"args": ["a", "b"]}, {"args": ["c"]}) == {"args": ["c"]}
    assert strategic_merge({"x": {"y": 1}}, {"x": None}) == {"x": None}
