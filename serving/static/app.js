// The draw-a-digit page: a canvas (pointer events cover mouse, touch and pen), an upload, and a
// call to POST /predict with the pasted API key. No framework and no build step on purpose.
"use strict";

(function () {
  const KEY_STORAGE = "model-server.api-key";
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const keyInput = document.getElementById("api-key");
  const modelSelect = document.getElementById("model");
  const predictButton = document.getElementById("predict");
  const statusLine = document.getElementById("status");
  let drawing = false;
  let last = null;
  let dirty = false;

  function clearPad() {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    dirty = false;
  }

  function point(event) {
    const box = pad.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * pad.width) / box.width,
      y: ((event.clientY - box.top) * pad.height) / box.height,
    };
  }

  function stroke(from, to) {
    ctx.strokeStyle = "#000000";
    ctx.lineWidth = 20;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    dirty = true;
  }

  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    try {
      pad.setPointerCapture(event.pointerId); // keep the stroke when the pointer leaves the pad
    } catch (error) {
      // synthetic or already-released pointers cannot be captured; drawing still works
    }
    drawing = true;
    last = point(event);
    stroke(last, last);
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  const stop = () => { drawing = false; last = null; };
  pad.addEventListener("pointerup", stop);
  pad.addEventListener("pointercancel", stop);

  function setStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function authHeaders() {
    const key = keyInput.value.trim();
    return key ? { Authorization: "Bearer " + key } : {};
  }

  async function loadModels() {
    try {
      // the model list needs a key or token (GET /status); without one, /readyz (which never
      // looks at credentials) lists the models only when the server has authentication off
      const headers = { Accept: "application/json", ...authHeaders() };
      const response = await fetch(headers.Authorization ? "status" : "readyz", { headers });
      if (response.status === 401 || response.status === 403) return; // a wrong key: no list
      const body = await response.json();
      const chosen = modelSelect.value; // a refreshed list keeps the user's choice
      while (modelSelect.options.length > 1) modelSelect.remove(1); // keep "server default"
      for (const model of body.models || []) {
        const option = document.createElement("option");
        option.value = model.name + "\u0000" + model.version;
        option.textContent = model.name + " · v" + model.version;
        option.selected = option.value === chosen;
        modelSelect.appendChild(option);
      }
      if (!body.ready) setStatus("the server has no verified model loaded yet", true);
    } catch (error) {
      setStatus("could not list models: " + error.message, true);
    }
  }

  function predictUrl() {
    const [name, version] = modelSelect.value.split("\u0000");
    const params = new URLSearchParams();
    if (name) params.set("model", name);
    if (version) params.set("version", version);
    const query = params.toString();
    return "predict" + (query ? "?" + query : "");
  }

  function canvasBlob() {
    return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
  }

  async function predict() {
    if (!dirty) {
      setStatus("draw a digit or upload a picture first", true);
      return;
    }
    predictButton.disabled = true;
    setStatus("predicting…");
    try {
      const form = new FormData();
      form.append("file", await canvasBlob(), "digit.png");
      const response = await fetch(predictUrl(), {
        method: "POST",
        headers: authHeaders(),
        body: form,
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const detail = body.detail || body.error || response.statusText;
        setStatus(response.status + " " + (body.title || "error") + ": " + detail, true);
        return;
      }
      showResult(body);
      setStatus("done");
    } catch (error) {
      setStatus("request failed: " + error.message, true);
    } finally {
      predictButton.disabled = false;
    }
  }

  function showResult(body) {
    document.getElementById("digit").textContent = String(body.digit);
    document.getElementById("served-by").textContent = body.model + " · v" + body.version;
    const probabilities = body.probabilities || [];
    const best = probabilities.length ? Math.max(...probabilities) : null;
    document.getElementById("confidence").textContent =
      best === null ? "no probabilities from this model" : (best * 100).toFixed(1) + "% sure";
    drawChart(probabilities, body.digit);
  }

  function svg(tag, attributes, text) {
    const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function drawChart(probabilities, digit) {
    const chart = document.getElementById("chart");
    chart.replaceChildren();
    const top = 18, height = 120, slot = 300 / Math.max(probabilities.length, 1);
    probabilities.forEach((p, index) => {
      const barHeight = Math.max(1, p * height);
      const x = index * slot + slot * 0.15;
      const rect = svg("rect", {
        class: "bar" + (index === probabilities.indexOf(Math.max(...probabilities)) ? " top" : ""),
        x: x.toFixed(1),
        y: (top + height - barHeight).toFixed(1),
        width: (slot * 0.7).toFixed(1),
        height: barHeight.toFixed(1),
        "data-class": String(index),
        "data-probability": p.toFixed(6),
      });
      rect.appendChild(svg("title", {}, index + ": " + (p * 100).toFixed(2) + "%"));
      chart.appendChild(rect);
      chart.appendChild(svg("text", { class: "label", x: (x + slot * 0.35).toFixed(1), y: 158 },
        String(index)));
      if (p >= 0.05) {
        chart.appendChild(svg("text", { x: (x + slot * 0.35).toFixed(1),
          y: (top + height - barHeight - 4).toFixed(1) }, Math.round(p * 100) + "%"));
      }
    });
    chart.setAttribute("data-digit", String(digit));
  }

  function uploadPicture(file) {
    const image = new Image();
    const url = URL.createObjectURL(file);
    image.onload = () => {
      clearPad();
      const scale = Math.min(pad.width / image.width, pad.height / image.height);
      const w = image.width * scale, h = image.height * scale;
      ctx.drawImage(image, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
      URL.revokeObjectURL(url);
      dirty = true;
      predict();
    };
    image.onerror = () => setStatus("that file is not a picture the browser can read", true);
    image.src = url;
  }

  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  keyInput.addEventListener("change", () => {
    sessionStorage.setItem(KEY_STORAGE, keyInput.value);
    loadModels();
  });
  document.getElementById("clear").addEventListener("click", () => {
    clearPad();
    setStatus("");
  });
  predictButton.addEventListener("click", predict);
  document.getElementById("upload").addEventListener("change", (event) => {
    if (event.target.files.length) uploadPicture(event.target.files[0]);
  });
  clearPad();
  loadModels();
})();
