"""Checks the deployment files in deploy/ the way the tools that consume them would.

- deploy/compose.yaml: parsed and resolved by docker-compose (`config -q`, no engine needed),
  then held to what the stack promises: a health check on every service, the API and workers
  scalable (no host port of their own), every file it mounts or builds from present, a current
  RabbitMQ with its management UI, and Prometheus scraping every Muze service with the alert
  rules it mounts, and `promtool check config` passing on that scrape config.
- deploy/kubernetes/: every manifest validated against the Kubernetes schemas by
  kubernetes-validate in strict mode (unknown fields and unknown kinds fail), then checked for
  what a schema cannot see: every container probed on /healthz (liveness) and, where the
  process serves it, /readyz (readiness); every ConfigMap, Deployment and port a manifest
  names exists; kustomization.yaml lists every manifest.

`--self-test` breaks a copy of the files in each way the checks exist for and fails unless
every break is caught.
"""

from __future__ import annotations

import copy
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.37.0"

# Processes whose readiness is more than "alive": they serve /readyz.
READYZ = {"muze-api", "muze-worker"}
# The Muze services Prometheus must scrape in compose, by service name.
SCRAPED = {"api", "worker", "scheduler"}
# Services that must scale with `--scale`: no host port of their own.
SCALABLE = {"api", "worker"}


class Problems(list):
    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


# --- compose ---------------------------------------------------------------------------------


def check_compose_with_docker_compose(path: pathlib.Path, problems: Problems) -> None:
    run = subprocess.run(
        ["docker-compose", "-f", str(path), "config", "-q"],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        problems.add(str(path), "docker-compose config failed: " + run.stderr.strip())


def check_compose(compose: dict, base: pathlib.Path, problems: Problems) -> None:
    where = "deploy/compose.yaml"
    services = compose.get("services") or {}
    for name, service in services.items():
        if "healthcheck" not in service:
            problems.add(where, f"service {name} has no healthcheck")
        for dep in service.get("depends_on") or {}:
            if dep not in services:
                problems.add(where, f"service {name} depends on {dep}, which is not a service")
        build = service.get("build")
        if isinstance(build, dict):
            context = (base / build.get("context", ".")).resolve()
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            if not dockerfile.is_file():
                problems.add(where, f"service {name} builds from {dockerfile}, which is missing")
            if not (context / ".dockerignore").is_file():
                problems.add(where, f"service {name}'s build context has no .dockerignore")
            else:
                ignored = (context / ".dockerignore").read_text()
                if not re.search(r"^target/?$", ignored, re.M):
                    problems.add(where, ".dockerignore does not keep target/ out of the context")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and source.startswith((".", "/")):
                if not (base / source).exists():
                    problems.add(where, f"service {name} mounts {source}, which is missing")
        if name in SCALABLE and service.get("ports"):
            problems.add(where, f"service {name} publishes a host port, so it cannot --scale")
    rabbit = (services.get("rabbitmq") or {}).get("image", "")
    match = re.match(r"rabbitmq:(\d+)", rabbit)
    if not match or int(match.group(1)) < 4 or "management" not in rabbit:
        problems.add(where, f"RabbitMQ image {rabbit!r} is not a current 4.x with management")
    prometheus = services.get("prometheus")
    if prometheus is None:
        problems.add(where, "no prometheus service")
        return
    mounts = {}
    for volume in prometheus.get("volumes") or []:
        parts = volume.split(":")
        if len(parts) >= 2 and parts[0].startswith("."):
            mounts[parts[1]] = base / parts[0]
    config_path = mounts.get("/etc/prometheus/prometheus.yml")
    if config_path is None or not config_path.is_file():
        problems.add(where, "prometheus does not mount deploy/prometheus/prometheus.yml")
        return
    check_prometheus_config(config_path, mounts, set(services), problems)


def check_prometheus_config(
    path: pathlib.Path, mounts: dict, services: set, problems: Problems
) -> None:
    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    if shutil.which("promtool") is None:
        problems.add(where, "promtool is missing: run scripts/tools/prometheus.sh")
    else:
        run = subprocess.run(
            ["promtool", "check", "config", str(path)], capture_output=True, text=True
        )
        if run.returncode != 0:
            problems.add(where, "promtool check config failed: " + (run.stderr or run.stdout).strip())
    config = yaml.safe_load(path.read_text()) or {}
    scraped = set()
    for job in config.get("scrape_configs") or []:
        for static in job.get("static_configs") or []:
            for target in static.get("targets") or []:
                scraped.add(target.split(":")[0])
        for dns in job.get("dns_sd_configs") or []:
            for name in dns.get("names") or []:
                scraped.add(name.split(":")[0])
    for service in sorted(SCRAPED - scraped):
        problems.add(where, f"no scrape job reaches the {service} service")
    for target in sorted(scraped - services - {"localhost", "127.0.0.1"}):
        problems.add(where, f"scrapes {target}, which is not a compose service")
    rule_files = config.get("rule_files") or []
    if not rule_files:
        problems.add(where, "loads no alert rules")
    config_dir = next(
        (str(pathlib.PurePosixPath(inside).parent) for inside, source in mounts.items() if source == path),
        "/etc/prometheus",
    )
    for rule_file in rule_files:
        # Prometheus reads a relative rule file beside its config file.
        inside = rule_file if rule_file.startswith("/") else f"{config_dir}/{rule_file}"
        if inside not in mounts or not mounts[inside].is_file():
            problems.add(where, f"rule file {rule_file} is not mounted into prometheus")


# --- kubernetes ------------------------------------------------------------------------------


def kubernetes_validate(files: list[pathlib.Path], problems: Problems) -> None:
    validator = ROOT / "target/tools/deploy-validators/bin/kubernetes-validate"
    run = subprocess.run(
        [str(validator), "--strict", "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
    )
    for line in (run.stdout + run.stderr).splitlines():
        if not line.startswith("INFO"):
            problems.add("kubernetes-validate", line)
    if run.returncode != 0 and not problems:
        problems.add("kubernetes-validate", f"exited with {run.returncode}")


def check_kubernetes(documents: dict, kustomization: dict, problems: Problems) -> None:
    """`documents`: file name -> the resources in it."""
    resources = [r for docs in documents.values() for r in docs]
    by_kind: dict = {}
    for r in resources:
        by_kind.setdefault(r["kind"], {})[r["metadata"]["name"]] = r
    listed = set(kustomization.get("resources") or [])
    for name in sorted(set(documents) - listed):
        problems.add("kustomization.yaml", f"does not list {name}")
    for name in sorted(listed - set(documents)):
        problems.add("kustomization.yaml", f"lists {name}, which is missing")

    pod_labels = {}
    for name, deployment in (by_kind.get("Deployment") or {}).items():
        where = f"Deployment {name}"
        template = deployment["spec"]["template"]
        pod_labels[name] = template["metadata"].get("labels") or {}
        selector = deployment["spec"]["selector"].get("matchLabels") or {}
        if not selector.items() <= pod_labels[name].items():
            problems.add(where, "its selector does not match its pod labels")
        for container in template["spec"]["containers"]:
            ports = {p.get("name") for p in container.get("ports") or []}
            live = (container.get("livenessProbe") or {}).get("httpGet") or {}
            ready = (container.get("readinessProbe") or {}).get("httpGet") or {}
            if live.get("path") != "/healthz":
                problems.add(where, "no liveness probe on /healthz")
            wanted = "/readyz" if name in READYZ else "/healthz"
            if ready.get("path") != wanted:
                problems.add(where, f"no readiness probe on {wanted}")
            for probe in (live, ready):
                if probe and probe.get("port") not in ports:
                    problems.add(where, f"a probe uses port {probe.get('port')!r}, not declared")
            for source in container.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name")
                if ref and ref not in (by_kind.get("ConfigMap") or {}):
                    problems.add(where, f"reads ConfigMap {ref}, which no manifest defines")

    for name, service in (by_kind.get("Service") or {}).items():
        selector = service["spec"].get("selector") or {}
        targets = [d for d, labels in pod_labels.items() if selector.items() <= labels.items()]
        if not targets:
            problems.add(f"Service {name}", "selects no Deployment's pods")

    autoscalers = by_kind.get("HorizontalPodAutoscaler") or {}
    if not autoscalers:
        problems.add("deploy/kubernetes", "nothing autoscales the workers")
    for name, hpa in autoscalers.items():
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in pod_labels:
            problems.add(f"HorizontalPodAutoscaler {name}", f"scales {target}, not a Deployment")


# --- driver ----------------------------------------------------------------------------------


def load_all(base: pathlib.Path):
    compose = yaml.safe_load((base / "compose.yaml").read_text())
    kube = base / "kubernetes"
    documents = {}
    kustomization = {}
    for path in sorted(kube.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if path.name == "kustomization.yaml":
            kustomization = docs[0]
        else:
            documents[path.name] = docs
    return compose, documents, kustomization


def check(base: pathlib.Path) -> Problems:
    problems = Problems()
    compose, documents, kustomization = load_all(base)
    check_compose_with_docker_compose(base / "compose.yaml", problems)
    check_compose(compose, base, problems)
    kube = base / "kubernetes"
    kubernetes_validate([kube / name for name in documents], problems)
    check_kubernetes(documents, kustomization, problems)
    return problems


def self_test() -> int:
    """Each break must be caught by the check it is there for."""
    breaks = []

    def compose_break(label, mutate):
        breaks.append((label, "compose", mutate))

    def kube_break(label, file, mutate):
        breaks.append((label, file, mutate))

    compose_break("a service without a healthcheck", lambda c: c["services"]["worker"].pop("healthcheck"))
    compose_break("the API on a fixed host port", lambda c: c["services"]["api"].__setitem__("ports", ["8080:8080"]))
    compose_break("an old RabbitMQ", lambda c: c["services"]["rabbitmq"].__setitem__("image", "rabbitmq:3.13-management"))
    compose_break("a dependency on a missing service", lambda c: c["services"]["api"]["depends_on"].__setitem__("memcached", {"condition": "service_started"}))
    compose_break("a mounted file that is missing", lambda c: c["services"]["prometheus"]["volumes"].append("./prometheus/missing.yml:/etc/prometheus/missing.yml:ro"))

    def typo(docs):
        docs[0]["spec"]["replica"] = docs[0]["spec"].pop("replicas")

    def no_readiness(docs):
        docs[0]["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe")

    def missing_config(docs):
        docs[0]["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] = "nope"

    def wrong_hpa(docs):
        docs[2]["spec"]["scaleTargetRef"]["name"] = "muze-workers"

    kube_break("a misspelt field (strict schema)", "api.yaml", typo)
    kube_break("a worker without a readiness probe", "worker.yaml", no_readiness)
    kube_break("a ConfigMap nobody defines", "scheduler.yaml", missing_config)
    kube_break("an autoscaler aimed at nothing", "worker.yaml", wrong_hpa)

    # Controls: the same round trip through the YAML writer, nothing broken, must pass, or
    # every break above would be "caught" for the wrong reason.
    breaks.append(("control: compose.yaml rewritten unchanged", "compose", None))
    breaks.append(("control: worker.yaml rewritten unchanged", "worker.yaml", None))

    failed = 0
    for label, file, mutate in breaks:
        mutate = mutate or (lambda _doc: None)
        control = label.startswith("control")
        with tempfile.TemporaryDirectory() as tmp:
            base = pathlib.Path(tmp) / "deploy"
            shutil.copytree(ROOT / "deploy", base)
            shutil.copy(ROOT / ".dockerignore", pathlib.Path(tmp) / ".dockerignore")
            if file == "compose":
                doc = yaml.safe_load((base / "compose.yaml").read_text())
                mutate(doc)
                (base / "compose.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
            else:
                path = base / "kubernetes" / file
                docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
                mutate(docs)
                path.write_text(yaml.safe_dump_all(docs))
            problems = check(base)
        if control:
            verdict = "FAILED" if problems else "passes"
            failed += bool(problems)
        else:
            verdict = "caught" if problems else "MISSED"
            failed += not problems
        print(f"self-test: {label}: {verdict}" + (f" ({problems[0]})" if problems else ""))
    return failed


def main() -> int:
    if "--self-test" in sys.argv:
        clean = check(ROOT / "deploy")
        if clean:
            print("the deployment files must pass before breaking them:", *clean, sep="\n  ")
            return 1
        missed = self_test()
        print(f"self-test: {missed} check(s) wrong")
        return 1 if missed else 0
    problems = check(ROOT / "deploy")
    for problem in problems:
        print("deploy:", problem)
    if problems:
        return 1
    print("deploy: compose.yaml and kubernetes/ pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
