// hamlet's query page: runs the form's query with fetch and shows the answer,
// fills the editor from the examples, and lists the schema's types from the
// endpoint's own introspection. Without this script the form still works: it
// sends the query with GET and the browser shows the JSON answer.
//
// Everything shown is set as text (textContent), never as HTML.

const endpoint = "/graphql";

const form = document.getElementById("query-form");
const query = document.getElementById("query");
const variables = document.getElementById("variables");
const headers = document.getElementById("headers");
const run = document.getElementById("run");
const status = document.getElementById("status");
const answer = document.getElementById("answer");

function say(element, message, isError) {
  element.textContent = message;
  element.classList.toggle("error", Boolean(isError));
}

// The headers box, one `Name: value` per line, as a list of pairs; or a
// message saying which line is not a header.
function readHeaders(text) {
  const pairs = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i].trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon < 1) {
      return { error: `Headers, line ${i + 1}: write it as Name: value.` };
    }
    pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { pairs };
}

function readVariables(text) {
  if (text.trim() === "") return { value: undefined };
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { error: "Variables must be a JSON object, in { }." };
    }
    return { value };
  } catch (error) {
    return { error: `Variables are not valid JSON: ${error.message}` };
  }
}

let running = false;

async function runQuery() {
  if (running) return;
  const vars = readVariables(variables.value);
  if (vars.error) {
    say(status, vars.error, true);
    variables.focus();
    return;
  }
  const extra = readHeaders(headers.value);
  if (extra.error) {
    say(status, extra.error, true);
    headers.focus();
    return;
  }
  const request = new Headers({
    "content-type": "application/json",
    accept: "application/graphql-response+json, application/json;q=0.9",
  });
  try {
    for (const [name, value] of extra.pairs) request.set(name, value);
  } catch (error) {
    say(status, `Headers: ${error.message}`, true);
    headers.focus();
    return;
  }
  const body = { query: query.value };
  if (vars.value !== undefined) body.variables = vars.value;

  running = true;
  run.setAttribute("aria-disabled", "true");
  say(status, "Running…");
  const started = performance.now();
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: request,
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    const text = await response.text();
    const took = Math.round(performance.now() - started);
    let shown = text;
    let errors = 0;
    try {
      const json = JSON.parse(text);
      shown = JSON.stringify(json, null, 2);
      errors = Array.isArray(json.errors) ? json.errors.length : 0;
    } catch {
      // Not JSON: show it as it came.
    }
    answer.textContent = shown;
    const outcome = errors === 0 ? "no errors" : errors === 1 ? "1 error" : `${errors} errors`;
    say(status, `Answer ${response.status} in ${took} ms: ${outcome}.`, errors > 0 || !response.ok);
  } catch (error) {
    answer.textContent = "";
    say(status, `The server could not be reached: ${error.message}`, true);
  } finally {
    running = false;
    run.removeAttribute("aria-disabled");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  runQuery();
});

form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    runQuery();
  }
});

// Examples.
const examples = document.getElementById("examples");
const example = document.getElementById("example");
document.getElementById("use-example").addEventListener("click", () => {
  const chosen = example.selectedOptions[0];
  if (!chosen) return;
  query.value = chosen.dataset.query || "";
  variables.value = chosen.dataset.variables || "";
  if (chosen.dataset.headers) headers.value = chosen.dataset.headers;
  say(status, `Example in the editor: ${chosen.textContent}. Choose Run to send it.`);
  query.focus();
});
examples.hidden = false;

// The schema, from the endpoint itself.
const schemaStatus = document.getElementById("schema-status");
const schemaList = document.getElementById("schema");
const schemaTools = document.getElementById("schema-tools");
const filter = document.getElementById("schema-filter");

const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
const INTROSPECTION = `query HamletSchemaBrowser {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      kind name description
      fields { name description args { name type { ${TYPE_REF} } } type { ${TYPE_REF} } }
      inputFields { name description type { ${TYPE_REF} } }
      enumValues { name description }
    }
  }
}`;

function typeName(ref) {
  if (!ref) return "?";
  if (ref.kind === "NON_NULL") return `${typeName(ref.ofType)}!`;
  if (ref.kind === "LIST") return `[${typeName(ref.ofType)}]`;
  return ref.name;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const KIND_WORDS = {
  OBJECT: "object",
  INPUT_OBJECT: "input",
  ENUM: "enum",
  SCALAR: "scalar",
  INTERFACE: "interface",
  UNION: "union",
};

function renderType(type, roots) {
  const details = element("details");
  details.dataset.search = [
    type.name,
    ...(type.fields || []).map((f) => f.name),
    ...(type.inputFields || []).map((f) => f.name),
    ...(type.enumValues || []).map((v) => v.name),
  ]
    .join(" ")
    .toLowerCase();
  const summary = element("summary");
  summary.append(element("code", type.name), " ");
  const role = roots[type.name];
  summary.append(element("span", role ? `(${role})` : `(${KIND_WORDS[type.kind] || type.kind})`, "kind"));
  details.append(summary);
  if (type.description) details.append(element("p", type.description, "description"));
  const list = element("ul");
  for (const field of type.fields || []) {
    const args = (field.args || []).map((a) => `${a.name}: ${typeName(a.type)}`).join(", ");
    const item = element("li");
    item.append(element("code", `${field.name}${args ? `(${args})` : ""}: ${typeName(field.type)}`));
    if (field.description) item.append(" ", element("span", field.description, "description"));
    list.append(item);
  }
  for (const field of type.inputFields || []) {
    const item = element("li");
    item.append(element("code", `${field.name}: ${typeName(field.type)}`));
    if (field.description) item.append(" ", element("span", field.description, "description"));
    list.append(item);
  }
  for (const value of type.enumValues || []) {
    const item = element("li");
    item.append(element("code", value.name));
    if (value.description) item.append(" ", element("span", value.description, "description"));
    list.append(item);
  }
  if (list.childElementCount > 0) details.append(list);
  return details;
}

async function loadSchema() {
  say(schemaStatus, "Loading the schema…");
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: INTROSPECTION }),
      credentials: "omit",
    });
    const json = await response.json();
    const schema = json && json.data && json.data.__schema;
    if (!schema) throw new Error(`answer ${response.status}`);
    const roots = {};
    if (schema.queryType) roots[schema.queryType.name] = "what you can read";
    if (schema.mutationType) roots[schema.mutationType.name] = "what you can change";
    if (schema.subscriptionType) roots[schema.subscriptionType.name] = "what you can follow live";
    const types = schema.types
      .filter((type) => !type.name.startsWith("__"))
      .sort((a, b) => {
        const ra = roots[a.name] ? 0 : 1;
        const rb = roots[b.name] ? 0 : 1;
        return ra - rb || a.name.localeCompare(b.name);
      });
    schemaList.replaceChildren(...types.map((type) => renderType(type, roots)));
    schemaTools.hidden = false;
    say(schemaStatus, `${types.length} types. Open one to see its fields.`);
  } catch (error) {
    say(schemaStatus, `The schema could not be loaded (${error.message}); the file above has it.`, true);
  }
}

filter.addEventListener("input", () => {
  const wanted = filter.value.trim().toLowerCase();
  let shown = 0;
  for (const details of schemaList.children) {
    const match = wanted === "" || details.dataset.search.includes(wanted);
    details.hidden = !match;
    if (match) shown += 1;
  }
  say(schemaStatus, wanted === "" ? `${shown} types.` : `${shown} types match “${filter.value.trim()}”.`);
});

loadSchema();
