#!/usr/bin/env node
import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);
import{e as x}from"./chunks/chunk-RAGFSVPS.js";import{a as b,b as E}from"./chunks/chunk-JJ6KNCFP.js";import{a as R}from"./chunks/chunk-NFUGOOBN.js";import{b as w}from"./chunks/chunk-I46P2RDY.js";import{a as $,c as I,e as k}from"./chunks/chunk-JHGGASRU.js";import"./chunks/chunk-6US65HJH.js";import{b as h}from"./chunks/chunk-D4H4RRBE.js";import"./chunks/chunk-MK5SZTTM.js";import"./chunks/chunk-EWCSBIKS.js";import{mkdir as F,readFile as M,writeFile as D}from"node:fs/promises";import l from"node:path";import{parseArgs as N}from"node:util";var P=`Usage: faas-deploy plan [options]

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

Exit status: 0 success, 1 invalid repository or manifest, 2 wrong usage.`,d=class extends Error{};function q(a){let o;try{o=N({args:[...a],allowPositionals:!0,strict:!0,options:{repo:{type:"string",default:"."},"functions-dir":{type:"string",default:"functions"},base:{type:"string"},head:{type:"string"},"event-name":{type:"string"},"event-path":{type:"string"},registry:{type:"string",default:"localhost:5000"},namespace:{type:"string",default:"default"},json:{type:"boolean",default:!1},out:{type:"string"},help:{type:"boolean",short:"h",default:!1}}})}catch(s){throw new d(h(s))}let{values:n,positionals:e}=o;if(n.help)return{help:!0};if(e[0]!=="plan"||e.length>1)throw new d(e.length===0?'Missing command "plan".':`Unknown command "${e.join(" ")}".`);if(n.base===void 0!=(n.head===void 0))throw new d("--base and --head go together.");if(n["event-name"]===void 0!=(n["event-path"]===void 0))throw new d("--event-name and --event-path go together.");return{help:!1,values:n}}function C(a,o){return{mode:a.mode,base:a.base??null,head:a.head??null,functions:a.functions.map(n=>({name:n.name,directory:n.directory,runtime:n.spec?.runtime??null,watchdog:n.spec?.watchdog??null,changed:n.changed,action:n.action,service:n.service,image:o.get(n.name)??null}))}}async function j(a,o){let n;try{n=q(a)}catch(s){if(s instanceof d)return o.stderr(`faas-deploy: ${s.message}

${P}
`),2;throw s}if(n.help)return o.stdout(`${P}
`),0;let e=n.values;try{let s=l.resolve(e.repo),S=e["functions-dir"].replace(/\/+$/,""),c={name:""};if(e["event-name"]&&e["event-path"]){let t=JSON.parse(await M(e["event-path"],"utf8"));c=b(e["event-name"],t)}let p=e.base&&e.head?{base:e.base,head:e.head}:void 0,u=await E({repoRoot:s,settings:{mode:"auto",functionsDir:S,deployAllOn:[],deployBranches:[],functions:void 0},defaultWatchdog:"classic",event:c,runner:$,...p?{revisions:p}:{},planAll:!p&&c.name===""});if(!u.ok){for(let t of u.problems)o.stderr(`faas-deploy: ${R(t)}
`);return 1}let r={...u.plan,dryRun:!0},O=w(e.registry),g=t=>t.action==="deploy"||t.action==="preview",y=await k(s,r,I({}),O,t=>e.out?t.spec!==void 0:g(t)),v=new Map(r.functions.filter(g).flatMap(t=>{let i=y.get(t.name)?.image;return i?[[t.name,i]]:[]}));if(e.out){let{dump:t}=await import("./chunks/js-yaml-5CT6XNTO.js");for(let i of r.functions){let f=y.get(i.name);if(!i.spec||!f)continue;let m=l.join(e.out,i.name);await F(m,{recursive:!0}),await D(l.join(m,"Dockerfile"),f.dockerfile);let A=x(i.spec,{service:i.service,namespace:e.namespace,image:f.image,...r.pullRequest!==void 0?{pullRequest:r.pullRequest}:{},...r.head?{commit:r.head}:{}});await D(l.join(m,"service.yaml"),t(A,{lineWidth:-1}))}}if(e.json)o.stdout(`${JSON.stringify(C(r,v),null,2)}
`);else{o.stdout(`faas-deploy plan: mode ${r.mode}${r.base?`, ${r.base.slice(0,12)}..${r.head?.slice(0,12)??""}`:""}
`);for(let t of r.functions)o.stdout(`  ${t.name.padEnd(24)} ${t.action.padEnd(8)} ${t.service.padEnd(28)} ${v.get(t.name)??t.reason??""}
`);for(let t of r.notes)o.stdout(`  note: ${t}
`);e.out&&o.stdout(`Wrote Dockerfile and service.yaml per function to ${e.out}
`)}return 0}catch(s){return o.stderr(`faas-deploy: ${h(s)}
`),1}}process.exitCode=await j(process.argv.slice(2),{stdout:a=>process.stdout.write(a),stderr:a=>process.stderr.write(a)});
