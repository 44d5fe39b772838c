"""The CHAI Applied Model Card (v0.2 schema) of a version, built from its governance facts.

Every element the schema requires is present; where the facts hold no value the element
says "not available: <reason>" (the schema types them as free text). Key metrics carry the
same lines as every other export, with the numbers as JSON in ``ValueJson``.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree
from lxml.builder import ElementMaker

from interop.reports.governance.chai_schema import NAMESPACE

BIBLIOGRAPHY = (
    "Collins GS et al. TRIPOD+AI statement. BMJ 2024;385:e078378. | ONC HTI-1 final rule, "
    "45 CFR 170.315(b)(11) decision support interventions. | Van Calster B et al. "
    "Calibration: the Achilles heel of predictive analytics. BMC Med 2019;17:230. | KAP-CDS "
    "clinical reference (docs/, shared/clinical-reference.md).")


def _attr(facts: dict[str, Any], number: int) -> str:
    entry = facts["hti1"][number - 1]
    return entry.get("value") or "not available: " + entry["not_available"]


def _clinic(facts: dict[str, Any], key: str) -> str:
    return facts["clinic"].get(key) or "not available: " + facts["clinic_missing"][key]


def _results(E: Any, rows: list[tuple[str, Any]], empty: str) -> Any:
    results = [E.MetricResult(E.Label(label), E.ValueJson(json.dumps(value, sort_keys=True)))
               for label, value in rows]
    if not results:
        results = [E.MetricResult(E.Label("not available"),
                                  E.ValueJson(json.dumps({"not_available": empty})))]
    return E.Results(*results)


def _key_metrics(E: Any, facts: dict[str, Any]) -> Any:
    held, fair, local = facts["heldout"], facts["fairness"], facts["local"]
    usefulness = [(line.split(":")[0], {"line": line}) for line in held["lines"]]
    fairness = [(f"{r['outcome']} {r['variable']}={r['level']}", {**r, "line": line})
                for r, line in zip(fair.get("rows", []), fair.get("lines", []), strict=True)]
    gate = (facts["quality_gate"] or {}).get("outcomes") or {}
    safety = [(f"quality gate: {name}", verdict) for name, verdict in gate.items()]
    safety += [(f"local: {line.split(':')[0]}", {"line": line})
               for line in local.get("validity_lines", [])]
    internal = "held-out test patients from the same synthetic source (internal validation)"
    return E.KeyMetrics(
        E.UsefulnessUsabilityEfficacy(
            E.MetricGoal("Discrimination (ROC AUC) and calibration of each outcome"),
            _results(E, usefulness, "no held-out metrics recorded"),
            E.Interpretation("\n".join(held["lines"])), E.TestType(internal),
            E.TestingDataDescription(held["source"]),
            E.ValidationProcessAndJustification(_attr(facts, 21))),
        E.FairnessEquity(
            E.MetricGoal("Similar discrimination and calibration by sex, age band and route"),
            _results(E, fairness, fair.get("not_available", "")),
            E.Interpretation("\n".join(fair.get("lines", [])) or fair.get("not_available", "")),
            E.TestType(internal), E.TestingDataDescription(fair.get("source", "")),
            E.ValidationProcessAndJustification(_attr(facts, 15))),
        E.SafetyReliability(
            E.MetricGoal("Withhold outcomes that fail the quality gate; keep local validity"),
            _results(E, safety, "no quality gate recorded"),
            E.Interpretation(_attr(facts, 27)),
            E.TestType("quality gate on held-out patients; local monitoring on the clinic's "
                       "store"),
            E.TestingDataDescription(local.get("source") or local.get("not_available", "")),
            E.ValidationProcessAndJustification(_attr(facts, 26))))


def chai_tree(facts: dict[str, Any]) -> etree._Element:
    """The unsigned card as an element tree in the CHAI v0.2 namespace."""
    E = ElementMaker(namespace=NAMESPACE, nsmap={None: NAMESPACE})
    models = facts["models"]
    return E.AppliedModelCard(
        E.BasicInfo(E.ModelName(f"{facts['title']} ({facts['version']})"),
                    E.ModelDeveloper(_clinic(facts, "developer")),
                    E.DeveloperContact(_clinic(facts, "developer_contact"))),
        E.ReleaseInfo(E.ReleaseStage(_clinic(facts, "release_stage")),
                      E.ReleaseDate(str(facts["created_utc"] or "not recorded")),
                      E.ReleaseVersion(facts["version"]),
                      E.GlobalAvailability("Open-source software (KAP-CDS, MIT); this version "
                                           "exists only in this installation's registry"),
                      E.RegulatoryApproval(_clinic(facts, "regulatory_approval"))),
        E.ModelSummary(E.Summary(facts["summary"]),
                       E.Keywords(*[E.Keyword(k) for k in (
                           "ketamine-assisted psychotherapy", "decision support",
                           "synthetic data", "prediction")])),
        E.UsesAndDirections(E.IntendedUseAndWorkflow(_attr(facts, 5)),
                            E.PrimaryIntendedUsers(_attr(facts, 7)),
                            E.HowToUse(_attr(facts, 8)),
                            E.TargetedPatientPopulation(_attr(facts, 6)),
                            E.CautionedOutOfScopeSettings(_attr(facts, 9))),
        E.Warnings(E.KnownRisksAndLimitations(_attr(facts, 10)),
                   E.KnownBiasesOrEthicalConsiderations(_attr(facts, 12) + "\n" +
                                                        _attr(facts, 22)),
                   E.ClinicalRiskLevel("not available: no regulatory risk class has been "
                                       "assigned; the project's hazard log is docs/safety/")),
        E.TrustIngredients(
            E.AISystemFacts(
                E.OutcomesAndOutputs(_attr(facts, 3)), E.ModelType(models["algorithm"]),
                E.InputDataSource(facts["training_data"]["description"]),
                E.OutputAndInputDataTypes(_attr(facts, 4) + "\n" + _attr(facts, 12)),
                E.DevelopmentDataCharacterization(_attr(facts, 11) + "\n" + _attr(facts, 13)),
                E.BiasMitigationApproaches(_attr(facts, 16)),
                E.OngoingMaintenance(_attr(facts, 26) + "\n" + _attr(facts, 30)),
                E.Security("Every version is signed with the installation's Ed25519 key and "
                           "verified before loading; no pickled code is loaded."),
                E.Transparency("The 31 ONC HTI-1 source attributes and a TRIPOD+AI report are "
                               "exported from the same facts (kapcds card).")),
            E.TransparencyInformation(
                E.FundingSource(_attr(facts, 2)),
                E.ThirdPartyInformation(", ".join(f"{k} {v}" for k, v in
                                                  facts["packages"].items())),
                E.StakeholdersConsulted(_clinic(facts, "stakeholders_consulted")))),
        _key_metrics(E, facts),
        E.Resources(E.EvaluationReferences(_attr(facts, 25)),
                    E.PeerReviewedPublications("not available: no peer-reviewed publication "
                                               "of this model"),
                    E.PatientConsentOrDisclosure(_clinic(facts, "patient_disclosure"))),
        E.Bibliography(BIBLIOGRAPHY))


def chai_xml(facts: dict[str, Any]) -> bytes:
    """The unsigned card as indented UTF-8 XML (sign it with ``xmldsig.sign_xml``)."""
    return etree.tostring(chai_tree(facts), pretty_print=True, xml_declaration=True,
                          encoding="UTF-8")
