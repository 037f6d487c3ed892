// Reading API objects by the names in /api/openapi.json. Each read names its response schema;
// tests/web/test_api_fields.py checks every such read (schema and field as string literals) in the code against
// the server's own OpenAPI description, so renaming a field fails a test instead of blanking a page.

/** `obj[field]`, where `field` is a property of the OpenAPI component `schema` (checked by a test). */
export function read(obj, schema, field) {
  return obj === null || obj === undefined ? undefined : obj[field];
}
