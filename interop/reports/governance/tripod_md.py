"""The TRIPOD+AI report as Markdown: the 27-item checklist with each item's status and where
it is reported, then the governance card's sections it points to and the HTI-1 attributes."""

from __future__ import annotations

from typing import Any

from interop.reports.governance.sections import attribute_text, card_sections

REFERENCE = "TRIPOD+AI: Collins GS et al., BMJ 2024;385:e078378 (27 items)"


def _cell(text: str) -> str:
    """Table-safe text: pipes escaped, line breaks as <br>-free separators."""
    return str(text).replace("|", "\\|").replace("\n", "; ")


def tripod_status_counts(facts: dict[str, Any]) -> dict[str, int]:
    """How many items are reported / not applicable / not reported."""
    counts: dict[str, int] = {}
    for item in facts["tripod"]:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return counts


def tripod_markdown(facts: dict[str, Any]) -> str:
    """The report (Markdown text)."""
    counts = tripod_status_counts(facts)
    lines = [f"# TRIPOD+AI report: {facts['title']}, version {facts['version']}", "",
             f"**{facts['notice']}**", "", REFERENCE + ". " + ", ".join(
                 f"{n} {status}" for status, n in counts.items()) + ".", "",
             "| item | topic | status | where (or why not) |", "|---|---|---|---|"]
    lines += [f"| {i['item']} | {_cell(i['topic'])} | {i['status']} | {_cell(i['where'])} |"
              for i in facts["tripod"]]
    for heading, body in card_sections(facts):
        lines += ["", f"## {heading}", ""] + [f"- {_cell(line)}" for line in body if line]
    lines += ["", "## HTI-1 source attributes", ""]
    for entry in facts["hti1"]:
        lines.append(f"{entry['number']}. **{entry['title']}**")
        lines += [f"   - {part}" for part in attribute_text(entry).split("\n") if part]
    return "\n".join(lines) + "\n"
