import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);
function n(e){return`${e.line?`${e.file}:${e.line}${e.column?`:${e.column}`:""}`:e.file}: ${e.field?`field "${e.field}" `:""}${e.message}`}export{n as a};
