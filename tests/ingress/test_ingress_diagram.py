"""diagram draws ingress: load balancer subnets, IGW edge routes, one application's inbound path."""

from __future__ import annotations

import pytest

from egress_net import engine
from egress_net.diagram import add_ingress, build_diagram, render_markdown, render_mermaid
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.ingress import apps_from_recordings

from ..conftest import REPO


@pytest.mark.parametrize("design", ["centralized", "distributed"])
def test_the_inbound_path_passes_the_firewall_in_blue(design: str) -> None:
    rec = engine.synth_stack(f"example-ingress-{design}", REPO)
    graph = graph_from_recordings([rec])
    diagram = build_diagram(graph, "t")
    add_ingress(diagram, graph, apps_from_recordings([rec]))
    lbs = diagram.nodes_of("load-balancer")
    assert len(lbs) == (2 if design == "centralized" else 4)
    assert diagram.highlighted_app == "feed"
    kinds = {diagram.nodes[n].kind for n in diagram.ingress_nodes}
    assert kinds == {"internet", "igw", "firewall", "load-balancer"}
    # Every marked edge is a route the diagram draws; requests enter by the edge routes.
    assert diagram.ingress_edges <= set(diagram.edges)
    assert any(e.label.startswith("edge ") for e in diagram.ingress_edges)
    assert any(e.label == "local" for e in diagram.ingress_edges)
    text = render_mermaid(diagram)
    assert "classDef ingress" in text and "stroke:#1f5f99" in text
    assert "In blue: the inbound path of application `feed`" in render_markdown(diagram)


def test_a_stack_without_ingress_draws_no_blue() -> None:
    rec = engine.synth_stack("dev", REPO)
    graph = graph_from_recordings([rec])
    diagram = build_diagram(graph, "t")
    before = render_mermaid(diagram)
    add_ingress(diagram, graph, apps_from_recordings([rec]))
    assert render_mermaid(diagram) == before
