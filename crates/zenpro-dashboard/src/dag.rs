//! A run's DAG as SVG: nodes in layers by longest path from a root, edges labelled with the
//! artifact that flows along them. Pure (no I/O); every text is escaped.

use std::collections::{BTreeMap, HashMap};

/// One step of the graph.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    /// Step status (`completed`, `failed`, `cached`, ...); `not started` when the step has no run.
    pub status: String,
    /// Link to the step page, when the step ran.
    pub href: Option<String>,
}

/// `from` → `to`, labelled with the output name (empty for an order-only dependency).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
}

const W: i64 = 180;
const H: i64 = 44;
const COL: i64 = 250;
const ROW: i64 = 80;
const PAD: i64 = 20;

/// HTML/XML escaping of text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Layer of every node: the longest path from a node without predecessors (cycles are cut).
pub fn layers(nodes: &[Node], edges: &[Edge]) -> HashMap<String, usize> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let mut rank = vec![0usize; nodes.len()];
    // Bellman-Ford style relaxation bounded by the node count: terminates on cycles too.
    for _ in 0..nodes.len() {
        let mut changed = false;
        for e in edges {
            if let (Some(&a), Some(&b)) = (index.get(e.from.as_str()), index.get(e.to.as_str()))
                && rank[b] < rank[a] + 1
                && rank[a] + 1 < nodes.len().max(1)
            {
                rank[b] = rank[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    nodes.iter().zip(rank).map(|(n, r)| (n.name.clone(), r)).collect()
}

fn color(status: &str) -> (&'static str, &'static str) {
    match status {
        "completed" => ("#d1fae5", "#059669"),
        "failed" => ("#fee2e2", "#dc2626"),
        "cached" => ("#ede9fe", "#7c3aed"),
        "running" | "initializing" | "provisioning" | "retrying" => ("#dbeafe", "#2563eb"),
        "stopped" | "stopping" => ("#fef3c7", "#d97706"),
        _ => ("#f3f4f6", "#9ca3af"),
    }
}

/// The SVG document (escaped; safe to embed in HTML).
pub fn svg(nodes: &[Node], edges: &[Edge]) -> String {
    let rank = layers(nodes, edges);
    let mut by_layer: BTreeMap<usize, Vec<&Node>> = BTreeMap::new();
    for n in nodes {
        by_layer.entry(rank[&n.name]).or_default().push(n);
    }
    let mut pos: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut max_rows = 1i64;
    for (layer, ns) in &by_layer {
        max_rows = max_rows.max(ns.len() as i64);
        for (i, n) in ns.iter().enumerate() {
            pos.insert(n.name.as_str(), (PAD + *layer as i64 * COL, PAD + i as i64 * ROW));
        }
    }
    let width = PAD * 2 + (by_layer.len().max(1) as i64 - 1) * COL + W;
    let height = PAD * 2 + (max_rows - 1) * ROW + H;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="dag-svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="pipeline run DAG"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#6b7280"/></marker></defs>"##
    );
    for e in edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(e.from.as_str()), pos.get(e.to.as_str())) else {
            continue;
        };
        let (ax, ay, bx, by) = (x1 + W, y1 + H / 2, x2, y2 + H / 2);
        let mx = (ax + bx) / 2;
        s.push_str(&format!(
            r##"<g class="edge" data-from="{f}" data-to="{t}"><path d="M{ax},{ay} C{mx},{ay} {mx},{by} {bx},{by}" fill="none" stroke="#6b7280" stroke-width="1.5" marker-end="url(#arrow)"/>"##,
            f = escape(&e.from),
            t = escape(&e.to),
        ));
        if !e.label.is_empty() {
            s.push_str(&format!(
                r##"<text x="{mx}" y="{ly}" font-size="11" text-anchor="middle" fill="#374151">{l}</text>"##,
                ly = (ay + by) / 2 - 4,
                l = escape(&e.label)
            ));
        }
        s.push_str("</g>");
    }
    for n in nodes {
        let (x, y) = pos[n.name.as_str()];
        let (fill, stroke) = color(&n.status);
        let cached = n.status == "cached";
        let mut g = format!(
            r##"<g class="node status-{st}" data-step="{name}"><title>{name}: {st}</title><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}/><text x="{tx}" y="{ty}" font-size="13" font-weight="600" fill="#111827">{short}</text><text x="{tx}" y="{sy}" font-size="11" fill="#374151">{st}{mark}</text></g>"##,
            st = escape(&n.status),
            name = escape(&n.name),
            dash = if cached { r#" stroke-dasharray="5 3""# } else { "" },
            tx = x + 10,
            ty = y + 18,
            sy = y + 35,
            short = escape(&truncate(&n.name, 22)),
            mark = if cached { " ⟲" } else { "" },
        );
        if let Some(h) = &n.href {
            g = format!(r#"<a href="{}">{g}</a>"#, escape(h));
        }
        s.push_str(&g);
    }
    s.push_str("</svg>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: &str) -> Node {
        Node { name: n.into(), status: "completed".into(), href: None }
    }
    fn edge(a: &str, b: &str) -> Edge {
        Edge { from: a.into(), to: b.into(), label: String::new() }
    }

    #[test]
    fn longest_path_layers_and_cycles_terminate() {
        let nodes = [node("a"), node("b"), node("c"), node("d")];
        let edges = [edge("a", "b"), edge("b", "c"), edge("a", "c"), edge("c", "d")];
        let r = layers(&nodes, &edges);
        assert_eq!((r["a"], r["b"], r["c"], r["d"]), (0, 1, 2, 3));
        let cyc = [edge("a", "b"), edge("b", "a")];
        let r = layers(&nodes[..2], &cyc);
        assert!(r["a"] <= 1 && r["b"] <= 1);
    }

    #[test]
    fn svg_escapes_names() {
        let nodes = [Node { name: "<x>".into(), status: "cached".into(), href: Some("/s?a=1&b=2".into()) }];
        let s = svg(&nodes, &[]);
        assert!(s.contains("&lt;x&gt;") && !s.contains("<x>"));
        assert!(s.contains("a=1&amp;b=2") && s.contains("stroke-dasharray"));
    }
}
