#!/usr/bin/env python3
"""Cut Twilio's OpenAPI descriptions down to what sms-bridge uses.

Three of Twilio's specs are cut, each by its file name: twilio_api_v2010.json (the 2010 REST
API, host api.twilio.com), twilio_messaging_v1.json (the Messaging API v1, host
messaging.twilio.com) and twilio_lookups_v2.json (the Lookup API v2, host
lookups.twilio.com). For each source spec given (default: all three, from
../shared/twilio-oai/ relative to the repository root) this writes twilio_oai/<same name>
with only the operations listed for it in CUTS, every component they reference
(transitively), and the document-level servers, info, security and security schemes. The
output is deterministic so a regenerated file diffs cleanly against the committed one.

    python scripts/cut_twilio_spec.py [SOURCE_SPEC ...] [--out-dir twilio_oai]
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE_DIR = REPO_ROOT.parent / "shared" / "twilio-oai"
DEFAULT_OUT_DIR = REPO_ROOT / "twilio_oai"

ACCOUNT = "/2010-04-01/Accounts/{AccountSid}"
# path -> HTTP methods the project calls (lowercase, as OpenAPI spells them)
USED_OPERATIONS = {
    f"{ACCOUNT}/Messages.json": ("get", "post"),
    f"{ACCOUNT}/Messages/{{Sid}}.json": ("get",),
    # MMS: a message's media, listed, fetched and deleted (inbound media leave Twilio)
    f"{ACCOUNT}/Messages/{{MessageSid}}/Media.json": ("get",),
    f"{ACCOUNT}/Messages/{{MessageSid}}/Media/{{Sid}}.json": ("get", "delete"),
    f"{ACCOUNT}/IncomingPhoneNumbers.json": ("get", "post"),
    f"{ACCOUNT}/IncomingPhoneNumbers/{{Sid}}.json": ("get", "post", "delete"),
    f"{ACCOUNT}/AvailablePhoneNumbers/{{CountryCode}}/Local.json": ("get",),
}
SERVICE = "/v1/Services/{ServiceSid}"
# Messaging Services, their sender pools and their US A2P 10DLC campaigns (read only)
USED_MESSAGING_OPERATIONS = {
    "/v1/Services": ("get", "post"),
    "/v1/Services/{Sid}": ("get", "post"),
    f"{SERVICE}/PhoneNumbers": ("get", "post"),
    f"{SERVICE}/PhoneNumbers/{{Sid}}": ("get", "delete"),
    "/v1/Services/{MessagingServiceSid}/Compliance/Usa2p": ("get",),
    "/v1/Services/{MessagingServiceSid}/Compliance/Usa2p/{Sid}": ("get",),
}
# A phone's line type, carrier and SMS pumping risk, looked up at hook-up
USED_LOOKUP_OPERATIONS = {
    "/v2/PhoneNumbers/{PhoneNumber}": ("get",),
}
# source/output file name -> the operations kept from it
CUTS = {
    "twilio_api_v2010.json": USED_OPERATIONS,
    "twilio_messaging_v1.json": USED_MESSAGING_OPERATIONS,
    "twilio_lookups_v2.json": USED_LOOKUP_OPERATIONS,
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _refs_in(node):
    """Yield every local $ref string found anywhere inside node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs_in(value)


def _resolve_pointer(spec, ref):
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    node = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def cut_spec(spec, used_operations=USED_OPERATIONS):
    """Return a new spec dict holding only used_operations and what they reference."""
    paths = {}
    for path, methods in used_operations.items():
        if path not in spec["paths"]:
            raise KeyError(f"path not in the source spec: {path}")
        item = spec["paths"][path]
        missing = [m for m in methods if m not in item]
        if missing:
            raise KeyError(f"{path} has no {missing} in the source spec")
        # keep path-level metadata (servers, description, x-twilio, parameters), drop unused methods
        paths[path] = {k: v for k, v in item.items() if k not in HTTP_METHODS or k in methods}

    # Walk $refs transitively, starting from the kept paths.
    needed = set()
    pending = list(_refs_in(paths))
    while pending:
        ref = pending.pop()
        if ref in needed:
            continue
        needed.add(ref)
        pending.extend(_refs_in(_resolve_pointer(spec, ref)))

    components = {}
    if "securitySchemes" in spec.get("components", {}):
        components["securitySchemes"] = spec["components"]["securitySchemes"]
    # Keep the source order of components so the output is stable.
    for section, entries in spec.get("components", {}).items():
        if section == "securitySchemes":
            continue
        kept = {name: value for name, value in entries.items() if f"#/components/{section}/{name}" in needed}
        if kept:
            components[section] = kept

    used_tags = {
        tag
        for item in paths.values()
        for method, op in item.items()
        if method in HTTP_METHODS
        for tag in op.get("tags", ())
    }

    out = {}
    for key in spec:  # same top-level key order as the source
        if key == "paths":
            out["paths"] = paths
        elif key == "components":
            out["components"] = components
        elif key == "tags":
            out["tags"] = [t for t in spec["tags"] if t.get("name") in used_tags]
        else:  # openapi, info, servers, security
            out[key] = spec[key]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sources",
        nargs="*",
        default=[str(DEFAULT_SOURCE_DIR / name) for name in CUTS],
        help=f"Twilio's full specs, named as in twilio-oai: {', '.join(CUTS)} "
        f"(default: all of them, from {DEFAULT_SOURCE_DIR})",
    )
    parser.add_argument(
        "--out-dir", default=str(DEFAULT_OUT_DIR), help="where to write the cut specs (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.sources:
        source = Path(name)
        if source.name not in CUTS:
            parser.error(f"{source.name}: not one of the cut specs ({', '.join(CUTS)})")
        with source.open(encoding="utf-8") as f:
            spec = json.load(f)
        cut = cut_spec(spec, CUTS[source.name])

        out = out_dir / source.name
        with out.open("w", encoding="utf-8") as f:
            json.dump(cut, f, indent=1, ensure_ascii=True, sort_keys=False)
            f.write("\n")
        licence = source.parent / "LICENSE"
        if licence.exists():
            shutil.copyfile(licence, out_dir / "LICENSE")
        print(
            f"wrote {out} ({len(cut['paths'])} paths, {sum(len(v) for v in cut['components'].values())} components)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
