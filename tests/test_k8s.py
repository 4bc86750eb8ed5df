"""The manifests of k8s/: rendered like `kustomize build`, validated offline, locked down.

The renderer below implements the part of kustomize that k8s/ uses (resources, namespace,
JSON 6902 patches, images) and refuses anything else, so a kustomization that grows past
it fails here instead of being checked half. KubeRay resources are validated against the
operator's CRD schemas (RICCI_RAY_SCHEMAS_DIR, else ../shared/schemas/kuberay), every
other resource and every pod template inside a KubeRay resource against the Kubernetes
schemas shipped by kubernetes-validate (strict: unknown fields are errors).
"""

from __future__ import annotations

import copy
import json
import os
import shlex
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
import yaml

from ricci_ray.cli import build_parser
from ricci_ray.spec import load_sweep

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "k8s"
KUSTOMIZATIONS = ["base", "overlays/small", "overlays/large"]
KUBERNETES_VERSION = "1.33"
# Where the Dockerfile puts the repository's files inside the image.
IMAGE_APP_DIR = PurePosixPath("/app")
SECRET_WORDS = ("PASSWORD", "TOKEN", "SECRET", "CREDENTIAL", "ACCESS_KEY", "PRIVATE_KEY")
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
KUBERAY_KINDS = {"RayCluster", "RayJob", "RayService"}
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}


# --- rendering --------------------------------------------------------------------------


def _load_documents(path: Path) -> list[dict]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def render(directory: Path) -> list[dict]:
    """The resources of the kustomization in ``directory``, as `kustomize build` gives them."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    supported = {"apiVersion", "kind", "resources", "namespace", "patches", "images"}
    unsupported = set(kustomization) - supported
    if unsupported:
        raise ValueError(
            f"{directory / 'kustomization.yaml'}: {sorted(unsupported)} not supported by the "
            "test renderer; extend tests/test_k8s.py::render or use a JSON 6902 patch"
        )

    resources: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        resources += render(path) if path.is_dir() else _load_documents(path)

    for patch in kustomization.get("patches", []):
        operations = (
            yaml.safe_load(patch["patch"])
            if "patch" in patch
            else yaml.safe_load((directory / patch["path"]).read_text())
        )
        if not isinstance(operations, list):
            raise ValueError(f"{directory}: only JSON 6902 patches (a list of operations)")
        targets = [r for r in resources if _matches(r, patch["target"])]
        if not targets:
            raise ValueError(f"{directory}: patch target {patch['target']} matches nothing")
        for resource in targets:
            for operation in operations:
                _apply_operation(resource, operation)

    for image in kustomization.get("images", []):
        for resource in resources:
            _set_image(resource, image)

    if "namespace" in kustomization:
        for resource in resources:
            if resource["kind"] != "Namespace":
                resource.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    return resources


def _matches(resource: dict, target: dict) -> bool:
    group, _, version = resource["apiVersion"].rpartition("/")
    wanted = {
        "group": group,
        "version": version,
        "kind": resource["kind"],
        "name": resource["metadata"]["name"],
    }
    return all(wanted[key] == value for key, value in target.items())


def _apply_operation(document: dict, operation: dict) -> None:
    """RFC 6902 add, replace and remove on ``document`` in place."""
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
    ]
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    op = operation["op"]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            node[index] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del node[index]
        else:
            raise ValueError(f"JSON 6902 op {op!r} not supported by the test renderer")
    else:
        if op in ("replace", "remove") and last not in node:
            raise KeyError(f"{operation['path']}: no such field to {op}")
        if op in ("add", "replace"):
            node[last] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del node[last]
        else:
            raise ValueError(f"JSON 6902 op {op!r} not supported by the test renderer")


def _set_image(node, image: dict) -> None:
    """kustomize's images: any container image named ``image['name']``, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers"):
                for container in value:
                    name, _, tag = container["image"].partition(":")
                    if name == image["name"]:
                        name = image.get("newName", name)
                        tag = image.get("newTag", tag)
                        container["image"] = f"{name}:{tag}" if tag else name
            _set_image(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_image(item, image)


@pytest.fixture(scope="module", params=KUSTOMIZATIONS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render(K8S / request.param)


def _of_kind(resources: list[dict], kind: str) -> list[dict]:
    return [r for r in resources if r["kind"] == kind]


# --- validation ---------------------------------------------------------------------------


def schemas_dir() -> Path:
    candidates = [
        REPO.parent / "shared" / "schemas" / "kuberay",
        Path("/work/shared/schemas/kuberay"),
    ]
    if "RICCI_RAY_SCHEMAS_DIR" in os.environ:
        candidates = [Path(os.environ["RICCI_RAY_SCHEMAS_DIR"])]
    for path in candidates:
        if (path / "RayCluster.json").is_file():
            return path
    pytest.fail(f"KubeRay schemas not found in {candidates}; set RICCI_RAY_SCHEMAS_DIR")


def _where(resource: dict, path) -> str:
    return f"{resource['kind']}/{resource['metadata']['name']}: " + (
        "/".join(str(part) for part in path) or "(root)"
    )


def kuberay_problems(resource: dict) -> list[str]:
    """Every way ``resource`` breaks its KubeRay CRD schema, each as 'Kind/name: path: message'."""
    import jsonschema

    crd = json.loads((schemas_dir() / f"{resource['kind']}.json").read_text())
    group, _, version = resource["apiVersion"].rpartition("/")
    if group != crd["group"] or version not in crd["versions"]:
        return [f"{_where(resource, ['apiVersion'])}: {resource['apiVersion']} is not served"]
    validator = jsonschema.Draft7Validator(crd["versions"][version])
    return [
        f"{_where(resource, error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(resource), key=lambda e: list(e.absolute_path))
    ]


def kubernetes_problems(resource: dict, path_prefix: tuple = ()) -> list[str]:
    """The first way ``resource`` breaks the strict Kubernetes schema, with its path."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{_where(resource, [*path_prefix, *error.absolute_path])}: {error.message}"]
    return []


def pod_templates(resource: dict) -> Iterator[tuple[tuple, dict]]:
    """(path, pod template) for every pod ``resource`` creates."""
    spec = resource.get("spec", {})
    if resource["kind"] in POD_KINDS:
        yield ("spec", "template"), spec["template"]
    elif resource["kind"] == "RayCluster":
        yield from _ray_cluster_templates(spec, ("spec",))
    elif resource["kind"] == "RayJob":
        if "rayClusterSpec" in spec:
            yield from _ray_cluster_templates(spec["rayClusterSpec"], ("spec", "rayClusterSpec"))
        if "submitterPodTemplate" in spec:
            yield ("spec", "submitterPodTemplate"), spec["submitterPodTemplate"]


def _ray_cluster_templates(spec: dict, prefix: tuple) -> Iterator[tuple[tuple, dict]]:
    yield (*prefix, "headGroupSpec", "template"), spec["headGroupSpec"]["template"]
    for i, group in enumerate(spec.get("workerGroupSpecs", [])):
        yield (*prefix, "workerGroupSpecs", i, "template"), group["template"]


def problems(resource: dict) -> list[str]:
    """Schema problems of one rendered resource, with the path of each."""
    if resource["kind"] in KUBERAY_KINDS:
        found = kuberay_problems(resource)
        # The CRD schemas keep pod templates loose; hold them to the Kubernetes schema.
        for path, template in pod_templates(resource):
            as_pod_template = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": resource["metadata"]["name"]},
                "template": template,
            }
            # Errors come back under "template/...": the last part of ``path`` itself.
            for problem in kubernetes_problems(as_pod_template, path[:-1]):
                found.append(problem.replace("PodTemplate/", f"{resource['kind']}/", 1))
        return found
    return kubernetes_problems(resource)


# --- the tests ----------------------------------------------------------------------------


def test_each_kustomization_renders_the_whole_deployment(rendered):
    name, resources = rendered
    kinds = sorted({r["kind"] for r in resources})
    assert kinds == sorted(
        {
            "Namespace",
            "PersistentVolumeClaim",
            "Service",
            "StatefulSet",
            "Deployment",
            "RayCluster",
            "RayJob",
            "NetworkPolicy",
        }
    ), name
    assert all(
        r["metadata"].get("namespace") == "ricci-ray"
        for r in resources
        if r["kind"] != "Namespace"
    )
    identities = [(r["kind"], r["metadata"]["name"]) for r in resources]
    assert len(identities) == len(set(identities)), "duplicate resources"


def test_every_resource_passes_its_schema(rendered):
    _, resources = rendered
    found = [problem for resource in resources for problem in problems(resource)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("kind", "path", "value", "expected"),
    [
        (
            "RayCluster",
            ["spec", "workerGroupSpecs", 0, "minReplicas"],
            "none",
            "RayCluster/ricci-ray: spec/workerGroupSpecs/0/minReplicas: 'none' is not of type",
        ),
        (
            "RayCluster",
            ["spec", "headGroupSpec", "template", "spec", "containers", 0, "imagePullPolicyy"],
            "Always",
            "RayCluster/ricci-ray: spec/headGroupSpec/template/spec/containers/0: Additional",
        ),
        (
            "Deployment",
            ["spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"],
            "five thousand",
            "Deployment/mlflow: spec/template/spec/containers/0/ports/0/containerPort:",
        ),
    ],
)
def test_a_broken_manifest_is_reported_with_its_path(kind, path, value, expected):
    resources = render(K8S / "base")
    broken = copy.deepcopy(_of_kind(resources, kind)[0])
    node = broken
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value

    found = problems(broken)

    assert any(problem.startswith(expected) for problem in found), found


def test_the_renderer_applies_the_overlays():
    small = _of_kind(render(K8S / "overlays/small"), "RayCluster")[0]["spec"]
    large = _of_kind(render(K8S / "overlays/large"), "RayCluster")[0]["spec"]
    assert [g["groupName"] for g in small["workerGroupSpecs"]] == ["cpu"]
    assert small["workerGroupSpecs"][0]["maxReplicas"] == 2
    assert [g["groupName"] for g in large["workerGroupSpecs"]] == ["cpu", "gpu"]
    gpu = large["workerGroupSpecs"][1]
    assert gpu["minReplicas"] == 0
    limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"


def test_nothing_is_exposed_outside_the_cluster(rendered):
    _, resources = rendered
    for service in _of_kind(resources, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]
    for cluster in _of_kind(resources, "RayCluster"):
        head = cluster["spec"]["headGroupSpec"]
        assert head.get("serviceType", "ClusterIP") == "ClusterIP"
        assert not head.get("enableIngress", False)
    assert not {"Ingress", "Route", "Gateway", "HTTPRoute"} & {r["kind"] for r in resources}
    for resource in resources:
        for _, template in pod_templates(resource):
            spec = template["spec"]
            assert not spec.get("hostNetwork") and not spec.get("hostPID")
            for container in spec["containers"]:
                assert all("hostPort" not in port for port in container.get("ports", []))


def _hardening_problems(where: str, container: dict, pod_context: dict) -> list[str]:
    context = container.get("securityContext", {})
    found = []
    if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
        found.append(f"{where}: runAsNonRoot is not true")
    if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
        found.append(f"{where}: runs as uid 0")
    if context.get("allowPrivilegeEscalation") is not False:
        found.append(f"{where}: allowPrivilegeEscalation is not false")
    if context.get("privileged"):
        found.append(f"{where}: privileged")
    if "ALL" not in context.get("capabilities", {}).get("drop", []):
        found.append(f"{where}: capabilities do not drop ALL")
    if context.get("capabilities", {}).get("add"):
        found.append(f"{where}: adds capabilities")
    return found


def _needs_api_access(resource: dict, path: tuple) -> bool:
    """The Ray head of an autoscaling cluster: its autoscaler sidecar calls the API."""
    return (
        resource["kind"] == "RayCluster"
        and resource["spec"].get("enableInTreeAutoscaling", False)
        and "headGroupSpec" in path
    )


def test_every_container_is_non_root_without_privileges(rendered):
    _, resources = rendered
    found = []
    for resource in resources:
        for path, template in pod_templates(resource):
            spec = template["spec"]
            pod_context = spec.get("securityContext", {})
            if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                found.append(f"{_where(resource, path)}: no RuntimeDefault seccomp profile")
            if spec.get("automountServiceAccountToken") is not False and not (
                _needs_api_access(resource, path)
            ):
                found.append(f"{_where(resource, path)}: mounts a service account token")
            for key in ("initContainers", "containers"):
                for i, container in enumerate(spec.get(key, [])):
                    where = _where(resource, [*path, "spec", key, i])
                    found += _hardening_problems(where, container, pod_context)
                    # Every pod container keeps its root file system read-only.
                    if not container["securityContext"].get("readOnlyRootFilesystem"):
                        found.append(f"{where}: root file system is writable")
                    resources_ = container.get("resources", {})
                    if not resources_.get("requests") or not resources_.get("limits"):
                        found.append(f"{where}: no resource requests and limits")
        if resource["kind"] == "RayCluster":
            # The operator's autoscaler sidecar: hardened, but its root stays writable.
            options = resource["spec"].get("autoscalerOptions", {})
            where = _where(resource, ["spec", "autoscalerOptions"])
            head_context = resource["spec"]["headGroupSpec"]["template"]["spec"]["securityContext"]
            found += _hardening_problems(where, options, head_context)
            if not options.get("resources", {}).get("limits"):
                found.append(f"{where}: no resource limits")
    assert not found, "\n".join(found)


def test_every_ray_node_preloads_the_trial_workers(rendered):
    """Ray pods set the same warm-worker settings a local ``ricci-ray sweep`` uses."""
    from ricci_ray.sweep import IDLE_WORKER_SECONDS, WORKER_PRELOAD_MODULES

    expected = {
        "RAY_preload_python_modules": ",".join(WORKER_PRELOAD_MODULES),
        "RAY_idle_worker_killing_time_threshold_ms": str(IDLE_WORKER_SECONDS * 1000),
    }
    _, resources = rendered
    found, checked = [], 0
    for resource in resources:
        if resource["kind"] != "RayCluster":
            continue
        for path, template in pod_templates(resource):
            for i, container in enumerate(template["spec"]["containers"]):
                checked += 1
                env = {item["name"]: item.get("value") for item in container.get("env", [])}
                for name, value in expected.items():
                    if env.get(name) != value:
                        where = _where(resource, [*path, "spec", "containers", i])
                        found.append(f"{where}: {name} is {env.get(name)!r}, not {value!r}")
    assert checked >= 2 and not found, "\n".join(found)


def _walk(node, path=()) -> Iterator[tuple[tuple, object]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _secret_references(resources: list[dict]) -> set[tuple[str, str]]:
    return {
        (node["name"], node["key"])
        for resource in resources
        for path, node in _walk(resource)
        if path and path[-1] == "secretKeyRef"
    }


def test_secrets_are_referenced_never_inlined(rendered):
    _, resources = rendered
    assert not _of_kind(resources, "Secret"), "a Secret is part of the render"
    found = []
    for resource in resources:
        for path, node in _walk(resource):
            if path and path[-1] == "env":
                for variable in node:
                    secret_like = any(word in variable["name"].upper() for word in SECRET_WORDS)
                    if secret_like and "value" in variable:
                        found.append(f"{_where(resource, path)}: {variable['name']} is inline")
            if isinstance(node, str) and "://" in node and "@" in node.split("://", 1)[1]:
                userinfo = node.split("://", 1)[1].split("@", 1)[0]
                if ":" in userinfo:
                    found.append(f"{_where(resource, path)}: a password in a URI")
    assert not found, "\n".join(found)

    # Ray's token comes from a Secret, by reference, through KubeRay's auth options.
    for cluster in _of_kind(resources, "RayCluster"):
        auth = cluster["spec"]["authOptions"]
        assert auth["mode"] == "token" and auth["secretName"]


def test_every_referenced_secret_is_documented_by_the_example_that_is_never_applied():
    example = _load_documents(K8S / "secrets.example.yaml")
    documented = {
        (secret["metadata"]["name"], key) for secret in example for key in secret["stringData"]
    }
    for name in KUSTOMIZATIONS:
        resources = render(K8S / name)
        references = _secret_references(resources) | {
            (c["spec"]["authOptions"]["secretName"], "auth_token")
            for c in _of_kind(resources, "RayCluster")
        }
        assert references <= documented, references - documented
    assert all(set(secret["stringData"].values()) == {"REPLACE_ME"} for secret in example), (
        "the example must hold placeholders only"
    )
    for kustomization in K8S.rglob("kustomization.yaml"):
        entries = yaml.safe_load(kustomization.read_text()).get("resources", [])
        assert not any("secrets.example" in entry for entry in entries), kustomization


def test_the_rayjob_runs_a_repository_sweep_file_re_entrantly(rendered):
    _, resources = rendered
    (job,) = _of_kind(resources, "RayJob")
    spec = job["spec"]
    argv = shlex.split(spec["entrypoint"])
    assert argv[0] == "ricci-ray"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "sweep"

    # The sweep file is one of the repository's, baked into the image at /app.
    in_image = PurePosixPath(args.sweep_file)
    assert in_image.is_relative_to(IMAGE_APP_DIR), in_image
    sweep_file = REPO / in_image.relative_to(IMAGE_APP_DIR)
    assert sweep_file.is_file(), sweep_file
    load_sweep(sweep_file)

    # Re-entrant: the output lives on the shared volume that the head mounts.
    (cluster,) = _of_kind(resources, "RayCluster")
    assert spec["clusterSelector"] == {"ray.io/cluster": cluster["metadata"]["name"]}
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in head["volumes"]
        if "persistentVolumeClaim" in v
    }
    shared = {
        PurePosixPath(mount["mountPath"])
        for mount in head["containers"][0]["volumeMounts"]
        if mount["name"] in claims
    }
    assert any(PurePosixPath(args.out).is_relative_to(mount) for mount in shared), args.out
    (claim,) = _of_kind(resources, "PersistentVolumeClaim")
    assert set(claims.values()) == {claim["metadata"]["name"]}
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]

    # MLflow through its Service; KubeRay refuses retries and SidecarMode with a selector.
    (service,) = [s for s in _of_kind(resources, "Service") if s["metadata"]["name"] == "mlflow"]
    assert args.tracking_uri == f"http://mlflow:{service['spec']['ports'][0]['port']}"
    assert spec.get("submissionMode", "K8sJobMode") in SUBMISSION_MODES - {"SidecarMode"}
    assert spec.get("backoffLimit", 0) == 0
    assert not spec.get("shutdownAfterJobFinishes", False)


def test_mlflow_answers_its_service_names_and_stores_runs_in_postgres(rendered):
    _, resources = rendered
    (deployment,) = _of_kind(resources, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    (allowed,) = [a.split("=", 1)[1].split(",") for a in args if a.startswith("--allowed-hosts=")]
    assert {"mlflow", "mlflow:5000", "mlflow.ricci-ray.svc.cluster.local:5000"} <= set(allowed)
    assert "*" not in allowed
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["value"].startswith("postgresql://")
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "ricci-ray-postgres"
    assert "--serve-artifacts" in args


def _policies_for(resources: list[dict], labels: dict) -> list[dict]:
    chosen = []
    for policy in _of_kind(resources, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        wanted = selector.get("matchLabels", {})
        if all(labels.get(key) == value for key, value in wanted.items()):
            chosen.append(policy)
    return chosen


def test_network_policies_deny_by_default_and_admit_only_named_peers(rendered):
    _, resources = rendered
    policies = _of_kind(resources, "NetworkPolicy")
    assert any(
        p["spec"]["podSelector"] == {}
        and "Ingress" in p["spec"]["policyTypes"]
        and not p["spec"].get("ingress")
        for p in policies
    ), "no default-deny ingress policy"
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']}: a rule admits every source"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, policy["metadata"]["name"]
                # A namespace-wide peer must still name the pods.
                if "namespaceSelector" in peer:
                    assert peer.get("podSelector", {}).get("matchLabels"), policy["metadata"]
    # The Ray head's job API and MLflow each have a policy of their own.
    base = {"app.kubernetes.io/name": "ricci-ray"}
    for component in ("ray-head", "mlflow", "postgres", "ray-worker"):
        specific = [
            p
            for p in _policies_for(resources, {**base, "app.kubernetes.io/component": component})
            if p["spec"]["podSelector"]
        ]
        assert specific, f"no NetworkPolicy for {component}"


def test_the_dockerfile_pins_torch_and_runs_as_a_numeric_non_root_user():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert '"torch==2.13.0"' in dockerfile
    assert "ARG BASE_IMAGE=python:3.11-slim" in dockerfile
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", "runs"} <= set(ignored)
