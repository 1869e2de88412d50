// Run `code` in a new kernel of the logged-in learner's JupyterLab (page JS, the learner's
// cookies): start a kernel over the REST API, send one execute_request over its websocket,
// return everything it printed or displayed (text/plain) and any error.
async ({ base, code }) => {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="));
  const xsrf = cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
  const started = await fetch(base + "api/kernels", {
    method: "POST",
    headers: { "X-XSRFToken": xsrf, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "python3" }),
  });
  if (!started.ok) return "kernel start failed: " + started.status;
  const kernel = await started.json();
  const url = location.origin.replace(/^http/, "ws") + base + "api/kernels/" + kernel.id + "/channels";
  const msgId = "dojo-" + Math.random().toString(16).slice(2);
  return await new Promise((resolve) => {
    const ws = new WebSocket(url);
    const out = [];
    let replied = false;
    let idle = false;
    const finish = () => { if (replied && idle) { ws.close(); resolve(out.join("\n")); } };
    ws.onopen = () => ws.send(JSON.stringify({
      header: { msg_id: msgId, username: "", session: msgId, msg_type: "execute_request",
                version: "5.3", date: new Date().toISOString() },
      parent_header: {}, metadata: {}, channel: "shell", buffers: [],
      content: { code, silent: false, store_history: true, user_expressions: {},
                 allow_stdin: false, stop_on_error: true },
    }));
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (!msg.parent_header || msg.parent_header.msg_id !== msgId) return;
      const c = msg.content || {};
      if (msg.msg_type === "stream") out.push(c.text);
      if (msg.msg_type === "error") out.push(c.ename + ": " + c.evalue);
      if (["display_data", "execute_result"].includes(msg.msg_type)) out.push((c.data || {})["text/plain"] || "");
      if (msg.msg_type === "execute_reply") replied = true;
      if (msg.msg_type === "status" && c.execution_state === "idle") idle = true;
      finish();
    };
    ws.onerror = () => resolve("websocket error; so far: " + out.join("\n"));
  });
}
