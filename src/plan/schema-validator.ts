import { Ajv, type ErrorObject } from 'ajv';
import schema from '../../schemas/function.schema.json' with { type: 'json' };
import options from './schema-options.json' with { type: 'json' };

/**
 * The options function.schema.json is compiled with (schema-options.json, plain JSON so that
 * scripts/build.mjs reads them on any Node). The build compiles the schema with the same options into
 * standalone code and puts that in the bundles in place of this module, so that a run neither loads
 * Ajv nor compiles the schema (together longer than the rest of a plan).
 */
const SCHEMA_OPTIONS: Readonly<typeof options> = options;

let validator: ReturnType<Ajv['compile']> | undefined;

/** Validates a parsed function.yaml against the schema; no errors means valid. */
export function validateManifestSchema(data: unknown): ErrorObject[] {
  validator ??= new Ajv(SCHEMA_OPTIONS).compile(schema);
  return validator(data) ? [] : [...(validator.errors ?? [])];
}
