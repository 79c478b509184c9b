"""The shell shared by the HTML reports: escaping, anchors, outcome chips, inline CSS and JS.

Reports are single files that open from a CI artifact or a mail attachment,
so everything is inline and nothing is fetched from the network.
"""

from __future__ import annotations

import html
import re

from .facts import printable
from .outcomes import COLOURS, LABELS, ROLLUP_ORDER, SYMBOLS

__all__ = ["anchor", "chip", "esc", "page", "rows_html"]


def esc(text: object) -> str:
    """Text (or any value) made safe for HTML content and quoted attributes."""
    return html.escape(printable(str(text)), quote=True)


def anchor(kind: str, ident: str) -> str:
    """A fragment id such as ``clause-allocate_cache.keys.placeholder``, safe in any URL."""
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_.:-]", "_", ident)


def chip(outcome: str, text: str | None = None) -> str:
    """A coloured label for an outcome."""
    label = LABELS[outcome] if text is None else text
    return (
        f'<span class="chip o-{outcome}" title="{esc(LABELS[outcome])}">'
        f"{esc(SYMBOLS[outcome])} {esc(label)}</span>"
    )


def rows_html(rows: list[str]) -> str:
    """Table rows one per line, so that diffs of committed pages stay readable."""
    return "\n".join(rows)


def _outcome_css() -> str:
    rules = [f".o-{o}{{background:{COLOURS[o]}}}" for o in ROLLUP_ORDER]
    return "\n".join(rules)


_CSS = """
:root{--fg:#1d232b;--muted:#5b6673;--line:#d9dee5;--bg:#fff;--panel:#f6f8fa;--accent:#2557a7}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1280px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;
border-bottom:1px solid var(--line)}h3{font-size:15px;margin:16px 0 6px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:12.5px}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px 12px;
overflow:auto;margin:6px 0;white-space:pre-wrap;word-break:break-word}
.muted{color:var(--muted)}
.verdict{display:inline-block;font-weight:700;font-size:16px;padding:6px 14px;border-radius:6px;
color:#fff}
.verdict.small{font-size:12px;padding:1px 8px}.tally{font-weight:400}
.verdict.yes{background:#1e7e34}.verdict.no{background:#c62828}.verdict.partial{background:#9a6700}
.banner{margin:12px 0;padding:10px 14px;border-radius:6px;background:#fdecea;border:1px solid #f28b82}
.note{margin:12px 0;padding:8px 12px;border-radius:6px;background:#fff8e1;border:1px solid #ffe38a}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:6px 24px;
margin:14px 0}
.meta div{display:flex;gap:8px;min-width:0}.meta dt{color:var(--muted);flex:0 0 96px}
.meta dd{margin:0;overflow-wrap:anywhere}
.chip{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;white-space:nowrap;
color:#1d232b;border:1px solid rgba(0,0,0,.12)}
.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;margin:10px 0 6px;
border:1px solid var(--line)}
.bar span{display:block;height:100%}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
.filters label{cursor:pointer;user-select:none}
.filters input[type=checkbox]{margin:0 4px 0 0;vertical-align:middle}
.filters input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:6px;
min-width:240px;font:inherit}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{background:var(--panel);font-weight:600;position:sticky;top:0;z-index:1}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td code{overflow-wrap:anywhere}
.matrix td.api{white-space:nowrap;font-weight:600}
.tiles{display:flex;flex-wrap:wrap;gap:4px}
.tile{display:inline-block;padding:1px 6px;border-radius:4px;font-size:12px;color:#1d232b;
border:1px solid rgba(0,0,0,.12)}
.tile:hover{outline:2px solid var(--accent);text-decoration:none}
.dim{opacity:.18}
.hidden{display:none}
details>summary{cursor:pointer}
details.test{border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:6px 10px}
details.test[open]{background:#fffdfd}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
.kv dt{color:var(--muted)}.kv dd{margin:0;overflow-wrap:anywhere}
.copy{float:right;font-size:11px;padding:1px 8px;margin:4px;border:1px solid var(--line);
border-radius:4px;background:var(--bg);cursor:pointer}
.zh{display:block;white-space:pre-line}.en{display:block;color:var(--muted);white-space:pre-line}
.grid{table-layout:fixed}.grid th:first-child{width:300px}
.grid th.cell{overflow-wrap:anywhere}
.grid td.cell{text-align:center;white-space:nowrap}
td.text{width:48%}
.grid td.cell a{color:#1d232b;display:block}
.legend{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
:target{outline:3px solid var(--accent);outline-offset:2px}
@media print{.filters,.copy{display:none}}
"""

_SCRIPT = """
(function(){
  var boxes=document.querySelectorAll('input[data-filter]');
  var search=document.getElementById('search');
  function apply(){
    var hidden={};
    boxes.forEach(function(b){if(!b.checked)hidden[b.dataset.filter]=true;});
    var q=search?search.value.toLowerCase():'';
    document.querySelectorAll('[data-outcome]').forEach(function(el){
      var off=hidden[el.dataset.outcome]===true;
      if(el.classList.contains('tile')){el.classList.toggle('dim',off);return;}
      var miss=q&&el.textContent.toLowerCase().indexOf(q)<0;
      el.classList.toggle('hidden',off||Boolean(miss));
    });
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  if(search)search.addEventListener('input',apply);
  document.querySelectorAll('button.copy').forEach(function(btn){
    btn.addEventListener('click',function(){
      var code=btn.parentNode.querySelector('code');
      if(navigator.clipboard&&code){navigator.clipboard.writeText(code.textContent);
        btn.textContent='copied';setTimeout(function(){btn.textContent='copy';},1200);}
    });
  });
  function openTarget(){
    var id=decodeURIComponent(location.hash.slice(1));
    var el=id&&document.getElementById(id);
    if(el&&el.tagName==='DETAILS')el.open=true;
  }
  window.addEventListener('hashchange',openTarget);openTarget();
})();
"""


def page(title: str, body: str, *, script: bool = True) -> str:
    """A complete, self-contained HTML document."""
    js = f"<script>{_SCRIPT}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title>"
        f"<style>{_CSS}{_outcome_css()}</style></head>"
        f"<body><main>{body}</main>{js}</body></html>\n"
    )
