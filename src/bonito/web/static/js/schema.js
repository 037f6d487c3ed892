// Reading API objects by the names in /api/openapi.json. Each read names its response schema;
// tests/web/test_api_fields.py checks every such read (schema and field as string literals) in the code against
// the server's own OpenAPI description, so renaming a field fails a test instead of blanking a page.

/** `obj[field]`, where `field` is a property of the OpenAPI component `schema` (checked by a test). */
export function read(obj, schema, field) {
  return obj === null || obj === undefined ? undefined : obj[field];
}

let spec = null;

/** The server's OpenAPI description, fetched once per page load (option lists derive from its enums). */
export function openapi() {
  spec ||= fetch("/api/openapi.json", { headers: { accept: "application/json" } }).then((r) => r.json())
    .catch((err) => { spec = null; throw err; });
  return spec;
}

/** The allowed values of `schema.property` (an enum in the OpenAPI description). */
export async function enumOf(schema, property) {
  const doc = await openapi();
  const prop = doc.components.schemas[schema].properties[property];
  const target = prop.$ref ? doc.components.schemas[prop.$ref.split("/").pop()] : prop;
  return target.enum || (target.anyOf || []).flatMap((t) => t.enum || []);
}
