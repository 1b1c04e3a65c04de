"""The deploy tests' checker (tests/kubernetes/deploy.rs runs it with the venv's python).

  render CHART OUT VALUES_JSON   render CHART with the real Helm (helm-python-sdk: Helm v4 as a
                                 library) as release `sluice` in namespace `sluice`, lint it
                                 with the same values (strict: warnings fail), write the
                                 manifests to OUT; print {"kinds", "lint", "helm"}; exit 1 on a
                                 lint error or warning
  validate VERSION FILE...       validate every object of each FILE against Kubernetes VERSION's
                                 strict schemas (kubernetes-validate, offline); objects of
                                 custom resources (no schema shipped: PodMonitor) are skipped and
                                 named; print {"validated", "skipped"}; exit 1 naming each error
  props FILE OUT                 write the `sluice.properties` of FILE's ConfigMap to OUT
  objects FILE                   print FILE's objects as a JSON list
  agree CHART_OUT PLAIN          every object the chart rendered is in PLAIN, equal but for its
                                 own metadata.labels; print the differences, exit 1 if any
"""

import json
import sys

import yaml


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def render(chart, out, values_json):
    import helm_python as helm

    values = json.loads(values_json)
    with helm.Chart.load(chart) as c:
        manifests = c.render(values, name="sluice", namespace="sluice", is_install=True)
    docs = [
        text.strip() + "\n"
        for path, text in sorted(manifests.items())
        if not path.endswith("NOTES.txt") and text.strip()
    ]
    with open(out, "w") as f:
        f.write("---\n".join(docs))
    report = helm.lint(chart, values, strict=True, namespace="sluice")
    # Severity 1 is INFO ("icon is recommended"); 2 WARNING and 3 ERROR fail.
    bad = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    kinds = sorted(d["kind"] for d in load(out))
    print(json.dumps({"kinds": kinds, "lint": report["messages"], "helm": helm.helm_sdk_version()}))
    return 1 if bad else 0


def validate(version, files):
    import kubernetes_validate as kv
    from kubernetes_validate.utils import SchemaNotFoundError

    validated, skipped, errors = 0, [], []
    for path in files:
        for d in load(path):
            name = f"{path}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
            try:
                kv.validate(d, version, strict=True)
                validated += 1
            except SchemaNotFoundError:
                skipped.append(name)
            except kv.ValidationError as e:
                errors.append(f"{name}: {e.message} at {'.'.join(map(str, e.path))}")
    print(json.dumps({"validated": validated, "skipped": skipped, "errors": errors}))
    return 1 if errors else 0


def props(path, out):
    maps = [d for d in load(path) if d["kind"] == "ConfigMap"]
    if len(maps) != 1:
        print(f"{path}: {len(maps)} ConfigMaps, not 1", file=sys.stderr)
        return 1
    with open(out, "w") as f:
        f.write(maps[0]["data"]["sluice.properties"])
    return 0


def diff(a, b, at, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k), b.get(k), f"{at}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{at}[{i}]", out)
    elif a != b:
        out.append(f"{at}: chart {json.dumps(a)}, plain {json.dumps(b)}")


def agree(chart_out, plain):
    key = lambda d: (d["kind"], d["metadata"]["name"])
    theirs = {key(d): d for d in load(plain)}
    out = []
    for d in load(chart_out):
        other = theirs.get(key(d))
        if other is None:
            out.append(f"{key(d)}: in the chart, not in the plain manifest")
            continue
        d["metadata"].pop("labels", None)
        other["metadata"].pop("labels", None)
        diff(d, other, "/".join(key(d)), out)
    print(json.dumps({"differences": out}))
    return 1 if out else 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "render":
        return render(*args)
    if cmd == "validate":
        return validate(args[0], args[1:])
    if cmd == "props":
        return props(*args)
    if cmd == "objects":
        print(json.dumps(load(args[0])))
        return 0
    if cmd == "agree":
        return agree(*args)
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
