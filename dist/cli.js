#!/usr/bin/env node
import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);
import{a as w,b as R,c as E}from"./chunks/chunk-BSLJHXAN.js";import{b as v}from"./chunks/chunk-ADQFWZIF.js";import{a as $,c as I,e as k}from"./chunks/chunk-JHGGASRU.js";import"./chunks/chunk-MK5SZTTM.js";import{e as x}from"./chunks/chunk-RSYF5L7O.js";import{g as b}from"./chunks/chunk-SEULELJU.js";import"./chunks/chunk-6US65HJH.js";import{b as m}from"./chunks/chunk-D4H4RRBE.js";import"./chunks/chunk-EWCSBIKS.js";import{mkdir as F,readFile as M,writeFile as D}from"node:fs/promises";import l from"node:path";import{parseArgs as N}from"node:util";var P=`Usage: faas-deploy plan [options]

Plans what faas-deploy would build and deploy, without a cluster or a registry.

Options:
  --repo DIR             repository root (default: .)
  --functions-dir DIR    functions directory inside the repository (default: functions)
  --base REV --head REV  compare these revisions to find changed functions
  --event-name NAME      a GitHub event name (push, pull_request, workflow_dispatch) ...
  --event-path FILE      ... and its payload, to plan exactly as the action would
  --registry REGISTRY    registry prefix for image names (default: localhost:5000)
  --namespace NS         namespace for the rendered Services (default: default)
  --json                 print the plan as JSON on stdout, and nothing else
  --out DIR              write DIR/<fn>/Dockerfile and DIR/<fn>/service.yaml
  -h, --help             show this help

Exit status: 0 success, 1 invalid repository or manifest, 2 wrong usage.`,i=class extends Error{};function q(a){let o;try{o=N({args:[...a],allowPositionals:!0,strict:!0,options:{repo:{type:"string",default:"."},"functions-dir":{type:"string",default:"functions"},base:{type:"string"},head:{type:"string"},"event-name":{type:"string"},"event-path":{type:"string"},registry:{type:"string",default:"localhost:5000"},namespace:{type:"string",default:"default"},json:{type:"boolean",default:!1},out:{type:"string"},help:{type:"boolean",short:"h",default:!1}}})}catch(s){throw new i(m(s))}let{values:n,positionals:t}=o;if(n.help)return{help:!0};if(t[0]!=="plan"||t.length>1)throw new i(t.length===0?'Missing command "plan".':`Unknown command "${t.join(" ")}".`);if(n.base===void 0!=(n.head===void 0))throw new i("--base and --head go together.");if(n["event-name"]===void 0!=(n["event-path"]===void 0))throw new i("--event-name and --event-path go together.");return{help:!1,values:n}}function C(a,o){return{mode:a.mode,base:a.base??null,head:a.head??null,functions:a.functions.map(n=>({name:n.name,directory:n.directory,runtime:n.spec?.runtime??null,watchdog:n.spec?.watchdog??null,changed:n.changed,action:n.action,service:n.service,image:o.get(n.name)??null}))}}async function j(a,o){let n;try{n=q(a)}catch(s){if(s instanceof i)return o.stderr(`faas-deploy: ${s.message}

${P}
`),2;throw s}if(n.help)return o.stdout(`${P}
`),0;let t=n.values;try{let s=l.resolve(t.repo),S=t["functions-dir"].replace(/\/+$/,""),c={name:""};if(t["event-name"]&&t["event-path"]){let e=JSON.parse(await M(t["event-path"],"utf8"));c=w(t["event-name"],e)}let p=t.base&&t.head?{base:t.base,head:t.head}:void 0,u=await E({repoRoot:s,settings:{mode:"auto",functionsDir:S,deployAllOn:[],deployBranches:[],functions:void 0},defaultWatchdog:"classic",event:c,runner:$,...p?{revisions:p}:{},planAll:!p&&c.name===""});if(!u.ok){for(let e of u.problems)o.stderr(`faas-deploy: ${R(e)}
`);return 1}let r={...u.plan,dryRun:!0},O=v(t.registry),h=e=>e.action==="deploy"||e.action==="preview",g=await k(s,r,I({}),O,e=>t.out?e.spec!==void 0:h(e)),y=new Map(r.functions.filter(h).flatMap(e=>{let d=g.get(e.name)?.image;return d?[[e.name,d]]:[]}));if(t.out)for(let e of r.functions){let d=g.get(e.name);if(!e.spec||!d)continue;let f=l.join(t.out,e.name);await F(f,{recursive:!0}),await D(l.join(f,"Dockerfile"),d.dockerfile);let A=x(e.spec,{service:e.service,namespace:t.namespace,image:d.image,...r.pullRequest!==void 0?{pullRequest:r.pullRequest}:{},...r.head?{commit:r.head}:{}});await D(l.join(f,"service.yaml"),b(A,{lineWidth:-1}))}if(t.json)o.stdout(`${JSON.stringify(C(r,y),null,2)}
`);else{o.stdout(`faas-deploy plan: mode ${r.mode}${r.base?`, ${r.base.slice(0,12)}..${r.head?.slice(0,12)??""}`:""}
`);for(let e of r.functions)o.stdout(`  ${e.name.padEnd(24)} ${e.action.padEnd(8)} ${e.service.padEnd(28)} ${y.get(e.name)??e.reason??""}
`);for(let e of r.notes)o.stdout(`  note: ${e}
`);t.out&&o.stdout(`Wrote Dockerfile and service.yaml per function to ${t.out}
`)}return 0}catch(s){return o.stderr(`faas-deploy: ${m(s)}
`),1}}process.exitCode=await j(process.argv.slice(2),{stdout:a=>process.stdout.write(a),stderr:a=>process.stderr.write(a)});
