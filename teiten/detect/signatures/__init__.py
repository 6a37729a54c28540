"""Signature matching over stored packets: Snort / Suricata / Emerging Threats rules loaded
as they are, matched per batch, their alerts counted per source and ranked as in the NPA
monthly report's Tables 4-1 and 4-2 (docs/detection.md).

Hits are classified Worm, Scan, UDP spam, DoS, DNS, Others (NPA Table 6-1) and counted per
day per sensor address like packets. The modules, in the order a rule goes through them:

- ``ruleset``: rule files read rule by rule into a :class:`RuleSet` (accepted rules, and
  each skipped one with its line and reason);
- ``compile``: one rule's text compiled to a :class:`Rule`, from ``parse`` (the header
  tokens, the options and each option's value), ``addresses`` (variables, address and
  port sets) and ``skips`` (why a rule is skipped);
- ``rule``: the :class:`Rule` and its parts;
- ``expressions``: a rule's header tests as an engine expression;
- ``match``: rules matched over a batch of packets with numpy, the payload tests in the
  compiled kernel of ``payload``;
- ``alerts``: alerts counted in the engine per (source, threshold window); ``streamed``:
  alerts of the rules matched batch by batch;
- ``tables``: alerts per rule and source, and the ranking by class or region;
- ``findings``: the ``signature`` findings of ``teiten detect``.
"""

from teiten.detect.signatures.addresses import address_set, parse_var, port_set, variables
from teiten.detect.signatures.findings import signature_findings
from teiten.detect.signatures.match import COLUMNS, match_batch
from teiten.detect.signatures.rule import CLASSES, Rule
from teiten.detect.signatures.ruleset import RuleSet, Skipped, compile_rules, load_rules, load_ruleset, parse_rules
from teiten.detect.signatures.skips import RuleSkip
from teiten.detect.signatures.tables import signature_alerts, signature_ranking

__all__ = ["CLASSES", "COLUMNS", "Rule", "RuleSet", "RuleSkip", "Skipped", "address_set", "compile_rules",
           "load_rules", "load_ruleset", "match_batch", "parse_rules", "parse_var", "port_set", "signature_alerts",
           "signature_findings", "signature_ranking", "variables"]
