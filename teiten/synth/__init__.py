"""Synthetic darknet traffic and incident reports with known ground truth, for the demo,
the tests and the benchmarks (nothing else in teiten imports it).

``scenario.generate`` writes two quarters of daily captures per sensor site with
``truth.json`` and ``sensors.json``; ``radiation.synthetic_capture`` one file of background
radiation; ``incident_reports`` the reports whose statistics are JPCERT/CC's 2017Q4
incident report; ``accuracy.score`` how well the detectors found what was planted
(docs/accuracy.md; judged in ``judges``, with ``replay``); ``addresses`` draws public source
addresses by country or AS.
"""

from teiten.synth.scenario import Scenario, generate

__all__ = ["Scenario", "generate"]
