(function(){
var form=document.getElementById('filters');if(!form)return;
function q(s){return Array.prototype.slice.call(document.querySelectorAll(s));}
function num(el,d){var v=parseFloat(el.value);return isNaN(v)?d:v;}
function apply(){
 var doc=form.doc.value,code=form.code.value,role=form.role.value,lo=num(form.lo,0),hi=num(form.hi,1);
 q('#code-matrix tbody tr').forEach(function(tr){tr.hidden=doc!==''&&tr.getAttribute('data-doc')!==doc;});
 q('[data-col]').forEach(function(el){el.classList.toggle('picked',code!==''&&el.getAttribute('data-col')===code);});
 q('section.code').forEach(function(s){s.hidden=code!==''&&(' '+s.getAttribute('data-codes')+' ').indexOf(' '+code+' ')<0;});
 var total=0;
 q('ol.examples').forEach(function(ol){
  var limit=+ol.getAttribute('data-limit'),n=0;
  Array.prototype.forEach.call(ol.children,function(li){
   var s=+li.getAttribute('data-score');
   var ok=n<limit&&(doc===''||li.getAttribute('data-doc')===doc)&&(role===''||li.getAttribute('data-role')===role)&&s>=lo&&s<=hi;
   li.hidden=!ok;if(ok)n++;});
  var empty=ol.nextElementSibling;if(empty)empty.hidden=n>0;
  if(!ol.closest('section[hidden]'))total+=n;});
 var out=document.getElementById('shown');if(out)out.textContent=out.getAttribute('data-text').replace('{n}',total);
}
form.addEventListener('input',apply);form.addEventListener('change',apply);
form.addEventListener('submit',function(e){e.preventDefault();});
apply();
})();
