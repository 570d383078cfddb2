import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);
var e=class extends Error{name="UserError";location;constructor(t,r){super(t),this.location=r}};function i(n){if(n instanceof Error)return n.message;if(typeof n=="string")return n;try{return JSON.stringify(n)}catch{return String(n)}}export{e as a,i as b};
