"""Criteria and self-checks for people: Markdown and HTML from one block structure.

Both renderings are built from the JSON documents of :mod:`.criteria` and
:mod:`.selfcheck`, never from text about a regime, so the page changes exactly
when the bundle does.
"""

from __future__ import annotations

import html
import json
from typing import Any

Block = tuple[Any, ...]  # ("h", level, text) | ("p", text) | ("ul", [items]) | ("table", headers, rows)


def _clause(c: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in c.items() if k != "code")
    return f"{c['code']}({params})" if params else c["code"]


def criteria_blocks(doc: dict[str, Any]) -> list[Block]:
    p = doc["policy"]
    out: list[Block] = [
        ("h", 1, f"Licensing criteria: {p['title'] or p['id']}"),
        ("p", f"Policy `{p['id']}`, version `{p['policy_version']}`, in force at {doc['at']}. "
              f"Home country {p['home_country']}; deemed exports follow the `{p['deemed_export_rule']}` rule."),
        ("h", 2, "Requirements, in the order they are applied"),
        ("table", ["id", "applies to", "requirement", "remedy"],
         [[r["id"], r["applies_to"], r["text"] + (f" (waived for: {'; '.join(r['waived_for'])})" if r.get("waived_for") else ""),
           ", ".join(_clause(c) for c in r["remedies"]) or "none"] for r in doc["requirements"]]),
        ("h", 2, "Model tiers"),
    ]
    tiers = []
    for t in doc["tiers"]:
        models = "; ".join(f"{m['id']} ({m['state']} under {m['state_rule']})" for m in t["models"]) or "none"
        tiers.append([t["tier"], models, ", ".join(t["requires"]) or "none", "; ".join(t["waivers"]) or "-"])
    out.append(("table", ["tier", "models (state now)", "requires", "qualified by designation"], tiers))
    out.append(("h", 2, "Use cases"))
    ucs = []
    for cls in doc["use_cases"]:
        for uc in cls["use_cases"]:
            if cls["prohibited"]:
                how = "prohibited for controlled models, whatever authorization exists"
            else:
                parts = []
                if uc["authorized_by"]:
                    parts.append("authorized by " + ", ".join(uc["authorized_by"]))
                if uc["when_named_for_the_entity_by"]:
                    parts.append("when named for the entity by " + ", ".join(uc["when_named_for_the_entity_by"]))
                how = "; ".join(parts) or "only under an authorization that names it (apply for a licence)"
            ucs.append([uc["id"], cls["class"], how, ", ".join(uc["named_for"]) or "-"])
    out.append(("table", ["use case", "class", "how it may be used", "named for"], ucs))
    d = doc["destinations"]
    out.append(("h", 2, "Destinations"))
    out.append(("p", f"Embargoed (groups {', '.join(d['embargo_groups']) or 'none'}): {', '.join(d['embargoed']) or 'none'}. "
                     "A foreign user is a deemed export to their country; a user abroad is an export to their location."))
    out.append(("table", ["group", "name", "countries"], [[g["id"], g["name"], " ".join(g["countries"])] for g in d["groups"]]))
    out.append(("h", 2, "Authorizations"))
    auths = []
    for a in doc["authorizations"]:
        cov = a["covers"]
        who = ", ".join(cov["resolved"]) or "-"
        if cov["designations"]:
            who += f" (designated {', '.join(cov['designations'])})"
        if cov["model_developer"]:
            who += " (and the model's developer)"
        uc = a["use_cases"]
        uses = ", ".join([*uc["use_cases"], *(f"class {c}" for c in uc["classes"])])
        if uc["entity_named"]:
            uses += " + use cases named for the entity"
        dests = "; ".join(f"{role}: {v['text']}" for role, v in a["destinations"].items())
        valid = f"{a['valid_from']} – {a['valid_until'] or 'open'}" + ("" if a["in_force"] else " (not in force)")
        susp = "; ".join(f"{s['entity'] or 'all'} from {s['from']}: {s['reason']}" for s in a["suspensions"]) or "-"
        auths.append([a["id"], a["kind"], ", ".join(a["models"]), valid, who, dests, uses,
                      ", ".join(_clause(o) for o in a["obligations"]) or "-", susp])
    out.append(("table", ["id", "kind", "models", "valid", "covers employees of", "destinations", "use cases", "obligations", "suspensions"], auths))
    lic = doc["licensing"]
    out.append(("h", 2, "How an application is handled"))
    clocks = lic["clocks"]
    out.append(("table", ["setting", "value"], [[k, json.dumps(v)] for k, v in clocks.items()]))
    out.append(("table", ["action", "from", "to", "by"], [[t["action"], ", ".join(t["from"]), t["to"], t["by"]] for t in lic["transitions"]]))
    return out


def selfcheck_blocks(doc: dict[str, Any]) -> list[Block]:
    org = doc["organization"]
    out: list[Block] = [
        ("h", 1, f"Self-check: {org['name']} (`{org['id']}`)"),
        ("p", f"At {doc['at']} under policy version `{doc['policy_version']}`: **{doc['outcome']}**."),
    ]
    if org["notes"]:
        out.append(("ul", org["notes"]))
    out.append(("table", ["requirement", "status", "failing cells", "remedies"],
                [[r["id"], r["status"], ", ".join(str(i) for i in r["failing"]) or "-",
                  ", ".join(_clause(c) for c in r["remedies"]) or "-"] for r in doc["requirements"]]))
    out.append(("table", ["#", "model", "use case", "user", "destinations", "decision", "remedies"],
                [[str(i), c["model"], c["use_case"], c["user"], " ".join(c["destinations"]) or "-",
                  f"{c['outcome']} ({c['code']})", ", ".join(_clause(r) for r in c["remedies"]) or "-"]
                 for i, c in enumerate(doc["cells"])]))
    return out


def markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            lines += ["#" * block[1] + " " + block[2], ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "ul":
            lines += [f"- {item}" for item in block[1]] + [""]
        elif kind == "table":
            headers, rows = block[1], block[2]
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "---|" * len(headers))
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_html(blocks: list[Block], title: str) -> str:
    e = html.escape
    parts = [f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{e(title)}</title></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind == "h":
            parts.append(f"<h{block[1]}>{e(block[2])}</h{block[1]}>")
        elif kind == "p":
            parts.append(f"<p>{e(block[1])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in block[1])
            body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in block[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render(doc: dict[str, Any], fmt: str, what: str = "criteria") -> str:
    """``fmt``: ``json``, ``markdown`` (``md``) or ``html``."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False)
    blocks = criteria_blocks(doc) if what == "criteria" else selfcheck_blocks(doc)
    if fmt in ("markdown", "md"):
        return markdown(blocks)
    if fmt == "html":
        return to_html(blocks, str(blocks[0][2]))
    raise ValueError(f"format: `{fmt}` is not one of json, markdown, html")
