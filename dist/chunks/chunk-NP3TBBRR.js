import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);
var _="0.1.0";export{_ as a};
