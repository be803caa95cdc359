// The gateway's own page: the services the broker knows, with their worker counts
// (MMI's mmi.services and mmi.workers, through the gateway), and a form that calls
// one and shows the reply.
//
// Whatever the broker, a service or a person typed reaches the page through
// textContent and setAttribute only, never as HTML. URLs are relative to the page,
// so the gateway also works behind a proxy that serves it under a prefix.
//
// `/?call=SERVICE&args=JSON` fills the form and calls at once (a link to a call).
// For tests and scripts: <body data-state> is "ready" once the first listing (and
// that call) is done; #services and #reply carry data-state and data-status.
"use strict";

(function () {
  const byId = (id) => document.getElementById(id);
  const list = byId("services");
  const listStatus = byId("services-status");
  const form = byId("call-form");
  const serviceField = byId("service");
  const argsField = byId("args");
  const status = byId("status");
  const reply = byId("reply");

  // The URL of a service: its name is one path segment, whatever it contains.
  function serviceUrl(name) {
    return "./" + encodeURIComponent(name);
  }

  // The call as a GET URL, absolute, for curl; `'` encoded too, so that the URL
  // can stand in single quotes.
  function getUrl(name, args) {
    const url = serviceUrl(name) + "?args=" + encodeURIComponent(JSON.stringify(args));
    return new URL(url, window.location.href).href.replaceAll("'", "%27");
  }

  // One HTTP exchange; a network failure is status 0 with the browser's reason.
  async function exchange(url, init) {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      const response = await fetch(url, Object.assign({ cache: "no-store" }, init));
      const body = await response.text();
      return { status: response.status, statusText: response.statusText, body, ms: took() };
    } catch (error) {
      return { status: 0, statusText: "no answer", body: String(error), ms: took() };
    }
  }

  // The reply frames of a 200 answer, or null.
  function frames(answer) {
    if (answer.status !== 200) {
      return null;
    }
    try {
      const parsed = JSON.parse(answer.body);
      return Array.isArray(parsed) ? parsed : null;
    } catch (_) {
      return null;
    }
  }

  // What went wrong with an answer, for a person: the gateway's error message if
  // its body carries one.
  function trouble(answer) {
    if (answer.status === 0) {
      return "The gateway did not answer: " + answer.body;
    }
    let message = answer.body;
    try {
      const parsed = JSON.parse(answer.body);
      if (parsed && typeof parsed.error === "string") {
        message = parsed.error;
      } else if (parsed && typeof parsed.message === "string") {
        message = parsed.message;
      }
    } catch (_) {
      // Not JSON: the body as it came.
    }
    return answer.status + " " + answer.statusText + ": " + message;
  }

  // A frame as text: strings as they are, anything else (a non-UTF-8 frame comes
  // as {"base64": …}) as JSON.
  function frameText(frame) {
    return typeof frame === "string" ? frame : JSON.stringify(frame);
  }

  // How many workers offer `name`: a number, or null if the broker would not say.
  async function workerCount(name) {
    const args = encodeURIComponent(JSON.stringify([name]));
    const answer = await exchange("./mmi.workers?args=" + args);
    const reply = frames(answer);
    if (!reply || reply[0] !== "200") {
      return null;
    }
    const count = Number(reply[1]);
    return Number.isInteger(count) && count >= 0 ? count : null;
  }

  function serviceItem(name, workers) {
    const item = document.createElement("li");
    item.setAttribute("data-service", name);
    item.setAttribute("data-workers", workers === null ? "?" : String(workers));
    item.title = "Call " + name;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const count = document.createElement("span");
    count.className = "workers";
    count.textContent =
      workers === null ? "workers unknown" : workers + (workers === 1 ? " worker" : " workers");
    item.append(label, count);
    item.addEventListener("click", () => {
      serviceField.value = name;
      serviceField.focus();
    });
    return item;
  }

  let listing = 0;

  // Lists the broker's services with their worker counts.
  async function refresh() {
    const mine = ++listing;
    list.setAttribute("data-state", "loading");
    listStatus.textContent = "Asking the broker…";
    const answer = await exchange("./mmi.services");
    if (mine !== listing) {
      return;
    }
    const reply = frames(answer);
    if (!reply || reply[0] !== "200") {
      list.replaceChildren();
      list.setAttribute("data-state", "error");
      listStatus.textContent = reply
        ? "The broker answered mmi.services with " + frameText(reply[0])
        : trouble(answer);
      return;
    }
    const names = reply.slice(1).map(frameText);
    const counts = await Promise.all(names.map(workerCount));
    if (mine !== listing) {
      return;
    }
    list.replaceChildren(...names.map((name, i) => serviceItem(name, counts[i])));
    list.setAttribute("data-state", "ready");
    const when = new Date().toLocaleTimeString();
    listStatus.textContent =
      (names.length === 0
        ? "No service has a worker right now."
        : names.length + (names.length === 1 ? " service" : " services") + " with workers.") +
      " Refreshed at " + when + ".";
  }

  function show(ok, statusText, body, code) {
    status.setAttribute("data-ok", ok ? "true" : "false");
    status.textContent = statusText;
    reply.textContent = body;
    reply.setAttribute("data-status", code);
    reply.setAttribute("data-state", "done");
  }

  let calling = 0;

  // Calls the service named in the form with its arguments, and shows the answer.
  async function call() {
    const mine = ++calling;
    const name = serviceField.value.trim();
    if (name === "") {
      show(false, "Name a service to call, such as echo.", "", "invalid");
      return;
    }
    let args;
    try {
      args = JSON.parse(argsField.value);
    } catch (error) {
      show(false, "The arguments are not JSON: " + error.message, "", "invalid");
      return;
    }
    if (!Array.isArray(args)) {
      show(false, 'The arguments must be a JSON array, such as ["hello"].', "", "invalid");
      return;
    }
    byId("curl").textContent = "curl '" + getUrl(name, args) + "'";
    byId("as-curl").hidden = false;
    status.removeAttribute("data-ok");
    status.textContent = "Calling " + name + "…";
    reply.textContent = "";
    reply.setAttribute("data-state", "calling");
    reply.removeAttribute("data-status");
    const answer = await exchange(serviceUrl(name), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(args),
    });
    if (mine !== calling) {
      return;
    }
    const line =
      answer.status === 0
        ? "No answer from the gateway"
        : answer.status + " " + answer.statusText;
    show(answer.status === 200, line + " · " + answer.ms + " ms", answer.body, String(answer.status));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    call();
  });
  argsField.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  byId("refresh").addEventListener("click", () => {
    refresh();
  });

  const params = new URLSearchParams(window.location.search);
  const first = [refresh()];
  if (params.has("call")) {
    serviceField.value = params.get("call");
    if (params.has("args")) {
      argsField.value = params.get("args");
    }
    first.push(call());
  }
  Promise.all(first).finally(() => {
    document.body.setAttribute("data-state", "ready");
  });
})();
