"""The report page's script and style: plain JavaScript and CSS, inlined by ``html.py`` so the
page opens offline. The script reads the findings from the page's JSON block and draws every
view from them: surprise, unit browser, discovery, gates, classes, conditions, piano roll."""

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.text{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:13px;max-height:26em;
overflow:auto;border:1px solid #ddd;padding:.6em;background:#fff}
.text span:hover{outline:1px solid #333}
#tip{position:fixed;background:#333;color:#fff;padding:.4em .6em;border-radius:4px;
font:12px ui-monospace,monospace;pointer-events:none;display:none;white-space:pre;z-index:9}
.cols{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;padding:.5em .8em;
border-radius:4px;min-width:15em}.card b{display:block}a.unit{cursor:pointer;color:#05c}
table{border-collapse:collapse}td,th{padding:.15em .6em;border-bottom:1px solid #eee;
text-align:left}.muted{color:#777}svg{background:#fafafa;border:1px solid #ddd}
"""

SCRIPT = r"""
const D=JSON.parse(document.getElementById('data').textContent);
const A=D.activations||{};const tip=document.getElementById('tip');
const $=id=>document.getElementById(id);
function esc(s){return s.replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'})[c])}
function show(s){return JSON.stringify(s).slice(1,-1)}
function paint(box,tokens,colour,hover){
  const parts=[];for(let i=0;i<tokens.length;i++)
    parts.push('<span data-i="'+i+'" style="background:'+colour(i)+'">'+esc(tokens[i])+'</span>');
  box.innerHTML=parts.join('');
  box.onmousemove=e=>{const i=e.target.dataset&&e.target.dataset.i;
    if(i===undefined){tip.style.display='none';return}
    tip.textContent=hover(+i);tip.style.display='block';
    tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px'};
  box.onmouseleave=()=>tip.style.display='none';
}
function heat(v){v=Math.max(-1,Math.min(1,v));return v>=0?'rgba(220,40,30,'+v.toFixed(2)+')'
  :'rgba(30,90,220,'+(-v).toFixed(2)+')'}
function decode(name){const e=A[name];if(!e)return null;if(e.values)return e.values;
  const b=atob(e.data);const v=new Float32Array(b.length);
  for(let i=0;i<b.length;i++){let x=b.charCodeAt(i);if(x>127)x-=256;v[i]=x/127}
  e.values=v;return v}
function surpriseView(){if(!D.surprise){$('textview').style.display='none';return}
  const s=D.surprise,t=D.top5||[];
  paint($('surprise'),D.tokens,i=>'rgba(220,40,30,'+Math.min(1,s[i]/10).toFixed(2)+')',
    i=>show(D.tokens[i])+'  '+s[i].toFixed(2)+' bits\n'+(t[i]||[]).map(p=>
      (p[1]*100).toFixed(1).padStart(5)+'%  '+show(p[0])).join('\n'))}
function browse(name){const v=decode(name);if(!v)return;$('unitname').textContent=name+
  ' (scale '+A[name].scale.toFixed(3)+')';const [l,s,u]=name.split(':');
  $('layer').value=l;fillStates();$('state').value=s;fillUnits();$('unit').value=name;
  paint($('units'),D.unit_tokens||D.tokens,i=>heat(v[i]),i=>show((D.unit_tokens||D.tokens)[i])+
    '  '+(v[i]*A[name].scale).toFixed(3));$('browser').scrollIntoView()}
function fillStates(){const l=$('layer').value;const states=[...new Set(Object.keys(A)
  .filter(n=>n.split(':')[0]==l).map(n=>n.split(':')[1]))];
  $('state').innerHTML=states.map(s=>'<option>'+s+'</option>').join('')}
function fillUnits(){const l=$('layer').value,s=$('state').value;$('unit').innerHTML=
  Object.keys(A).filter(n=>{const p=n.split(':');return p[0]==l&&p[1]==s})
  .sort((a,b)=>+a.split(':')[2]-b.split(':')[2]).map(n=>'<option value="'+n+'">'+
  n.split(':')[2]+'</option>').join('')}
function browserView(){const names=Object.keys(A);if(!names.length)return;
  $('browser').style.display='';const layers=[...new Set(names.map(n=>n.split(':')[0]))];
  $('layer').innerHTML=layers.map(l=>'<option>'+l+'</option>').join('');
  $('layer').onchange=()=>{fillStates();fillUnits();browse($('unit').value)};
  $('state').onchange=()=>{fillUnits();browse($('unit').value)};
  $('unit').onchange=()=>browse($('unit').value);
  const first=(D.discovery&&D.discovery.length&&D.discovery[0].units[0].unit)||names[0];
  browse(A[first]?first:names[0]);window.scrollTo(0,0)}
function unitLink(u,extra){return '<a class="unit" data-unit="'+u+'">'+u+'</a> '+extra}
function discoveryView(){const d=D.discovery||[];if(!d.length){$('discovery').innerHTML=
  '<p class="muted">No feature varies over enough tokens (20 or more) to correlate with.</p>';
  return}
  $('discovery').innerHTML=d.map(f=>'<div class="card"><b>'+esc(f.feature)+'</b>'+
    f.units.map(u=>unitLink(u.unit,'r = '+u.r.toFixed(2)+(A[u.unit]?'':' <span class="muted">'+
    '(not carried)</span>'))).join('<br>')+'</div>').join('')}
function scatter(g){const w=170,p=18;let dots='';for(let i=0;i<g.left.length;i++)
  dots+='<circle cx="'+(p+g.left[i]*(w-2*p)).toFixed(1)+'" cy="'+(w-p-g.right[i]*(w-2*p))
  .toFixed(1)+'" r="2" fill="rgba(30,90,220,.5)"/>';return '<svg width="'+w+'" height="'+w+
  '"><line x1="'+p+'" y1="'+(w-p)+'" x2="'+(w-p)+'" y2="'+p+'" stroke="#ccc"/>'+dots+
  '<text x="'+p+'" y="'+(w-3)+'" font-size="10">left-saturated fraction</text>'+
  '<text x="2" y="12" font-size="10">right</text></svg>'}
function gatesView(){const g=D.gates||[];if(!g.length||!g.some(l=>Object.keys(l.gates).length))
  {$('gates').innerHTML='<p class="muted">This cell has no gates.</p>';return}
  $('gates').innerHTML=g.map(l=>'<div class="card"><b>layer '+l.layer+' ('+l.cell+')</b>'+
    Object.entries(l.gates).map(([n,s])=>'<div>'+n+' gate: left '+(s.mean_left*100)
    .toFixed(1)+'%, right '+(s.mean_right*100).toFixed(1)+'%<br>'+scatter(s)+'</div>')
    .join('')+'</div>').join('')}
function classView(){const c=D.classifier;if(!c)return;$('classes').style.display='';
  const w=c.words||[],m=Math.max(1e-9,...w.map(x=>Math.abs(x.score)));
  let html='<p>predicted <b>'+esc(c.class)+'</b></p><table>'+Object.entries(c.probabilities)
    .map(([k,p])=>'<tr><td>'+esc(k)+'</td><td>'+(p*100).toFixed(1)+'%</td><td><div style='+
    '"background:#5a8;height:.8em;width:'+(p*200).toFixed(0)+'px"></div></td></tr>').join('')+
    '</table>';if(c.deletion)html+='<p>deleting the '+c.deletion.count+' top words lowers '+
    'the class probability by '+c.deletion.top_drop.toFixed(3)+', '+c.deletion.count+
    ' random words by '+c.deletion.random_drop.toFixed(3)+'</p>';
  html+='<div class="cols">'+Object.entries(c.units||{}).map(([k,us])=>'<div class="card"><b>'+
    esc(k)+'</b>'+us.map(u=>unitLink(u.unit,'contribution '+u.contribution.toFixed(3)))
    .join('<br>')+'</div>').join('')+'</div>';$('classinfo').innerHTML=html;
  const text=c.text;let pos=0,parts=[];for(const x of w){parts.push(text.slice(pos,x.start));
    parts.push(x.score>=0?['g',x]:['r',x]);pos=x.end}parts.push(text.slice(pos));
  $('words').innerHTML=parts.map(p=>typeof p==='string'?esc(p):'<span title="'+
    p[1].score.toFixed(4)+'" style="background:'+(p[1].score>=0?'rgba(40,160,80,':
    'rgba(220,40,30,')+Math.min(1,Math.abs(p[1].score)/m).toFixed(2)+')">'+
    esc(text.slice(p[1].start,p[1].end))+'</span>').join('')}
function conditionView(){const c=D.conditions;if(!c||!c.length)return;
  $('conditions').style.display='';$('condinfo').innerHTML='<div class="cols">'+c.map(v=>
    '<div class="card"><b>'+esc(v.column+'='+v.value)+'</b>'+v.mean_surprise.toFixed(3)+
    ' bits/token<br><span class="muted">most helped words:</span><br>'+v.words.map(x=>
    esc(x.word)+' '+x.change.toFixed(2)).join('<br>')+'</div>').join('')+'</div>'}
function rollView(){const r=D.music;if(!r||!r.notes.length)return;$('music').style.display='';
  const t1=Math.max(...r.notes.map(n=>n[0]+n[1])),lo=Math.min(...r.notes.map(n=>n[2])),
  hi=Math.max(...r.notes.map(n=>n[2])),W=1000,H=Math.max(120,(hi-lo+1)*5);
  $('roll').innerHTML='<svg width="'+W+'" height="'+H+'">'+r.notes.map(n=>'<rect x="'+
    (n[0]/t1*W).toFixed(1)+'" y="'+((hi-n[2])*H/(hi-lo+1)).toFixed(1)+'" width="'+
    Math.max(1,n[1]/t1*W).toFixed(1)+'" height="'+(H/(hi-lo+1)).toFixed(1)+'" fill="'+
    'rgba(220,40,30,'+Math.min(1,.15+n[3]/10).toFixed(2)+')"><title>pitch '+n[2]+', '+
    n[3].toFixed(2)+' bits</title></rect>').join('')+'</svg>'}
document.addEventListener('click',e=>{const u=e.target.dataset&&e.target.dataset.unit;
  if(u&&A[u])browse(u)});
surpriseView();discoveryView();gatesView();classView();conditionView();rollView();browserView();
"""
