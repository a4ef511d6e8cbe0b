// The chat widget: talks to the assistant over Rasa's socket.io channel.
//
// The conversation (the token the server issued for it, and the messages shown) is kept in
// sessionStorage, so a page reload shows it again and carries on with the same conversation on
// the server; closing the tab forgets it, which suits a shared computer. "New chat" forgets it at
// once. "Delete this conversation" also deletes it on the server, after asking.
//
// Under each answer from the assistant's knowledge store: "Was this helpful? Yes / No", and after
// "No" a short list of reasons to choose from, if the patient likes. A press is sent as an event of
// its own ("answer_feedback": which answer, helpful or not, the reason's key), never as a message:
// it adds nothing to the conversation and cannot hold up a reply.
(function () {
  "use strict";

  var STORAGE_KEY = "ms-trial-assistant.conversation";
  var OPENING_MESSAGE = "/greet"; // sent unseen when a conversation starts: the notice, then a hello
  var SOURCE_LINE = /^Sources?: /;
  var ANSWER_ID = /^[A-Za-z0-9_-]{16}$/;

  var transcript = document.getElementById("transcript");
  var statusLine = document.getElementById("status");
  var composer = document.getElementById("composer");
  var input = document.getElementById("message");
  var newConversation = document.getElementById("new-conversation");
  var deleteConversation = document.getElementById("delete-conversation");

  function emptyConversation() {
    return { sessionId: null, messages: [] };
  }

  function loadConversation() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY));
      if (stored && typeof stored.sessionId === "string" && Array.isArray(stored.messages)) {
        return stored;
      }
    } catch (error) {
      // Storage switched off or unreadable: start afresh.
    }
    return emptyConversation();
  }

  function saveConversation() {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(conversation));
    } catch (error) {
      // Storage full or switched off: the chat still works, it just won't survive a reload.
    }
  }

  var conversation = loadConversation();

  // A notice the patient must read (the conversation was deleted, or started anew) stays until
  // they send something; the assistant's next messages do not wipe it.
  var statusLasts = false;

  function setStatus(text, lasting) {
    statusLine.textContent = text;
    statusLasts = Boolean(lasting);
  }

  function clearPassingStatus() {
    if (!statusLasts) {
      setStatus("");
    }
  }

  function speakerLabel(from) {
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = from === "user" ? "You said: " : "Assistant: ";
    return label;
  }

  function quickReplyButtons(replies) {
    var group = document.createElement("div");
    group.className = "quick-replies";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    replies.forEach(function (reply) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "quick-reply";
      button.textContent = reply.title;
      button.addEventListener("click", function () {
        send(reply.payload, reply.title);
        input.focus();
      });
      group.appendChild(button);
    });
    return group;
  }

  // Pictures of a result, drawn from the numbers the assistant sends (they come from its
  // knowledge store): an icon array of 100 people per group, or a facts box of benefits and harms
  // for every 100 people. Built with DOM calls and textContent only: nothing sent can run here.
  var SVG = "http://www.w3.org/2000/svg";
  var PER_ROW = 10;

  function element(name, className, text) {
    var node = document.createElement(name);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function person(x, y, happened) {
    // A head and shoulders; filled in for the people it happened to, an outline for the others,
    // so the picture does not rely on colour alone.
    var figure = document.createElementNS(SVG, "g");
    figure.setAttribute("class", happened ? "person happened" : "person");
    var head = document.createElementNS(SVG, "circle");
    head.setAttribute("cx", x + 5);
    head.setAttribute("cy", y + 2.6);
    head.setAttribute("r", 1.9);
    var body = document.createElementNS(SVG, "path");
    body.setAttribute("d", "M" + (x + 1.6) + " " + (y + 9.2) + "v-1.6a3.4 3.4 0 0 1 6.8 0v1.6z");
    figure.appendChild(head);
    figure.appendChild(body);
    return figure;
  }

  function hundredPeople(people) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("class", "hundred");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (var index = 0; index < 100; index += 1) {
      var x = (index % PER_ROW) * 10;
      var y = Math.floor(index / PER_ROW) * 10;
      svg.appendChild(person(x, y, index < people));
    }
    return svg;
  }

  function legendKey(happened, text) {
    var item = element("span", "legend-item");
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 10 10");
    svg.setAttribute("class", "legend-person");
    svg.setAttribute("aria-hidden", "true");
    svg.appendChild(person(0, 0, happened));
    item.appendChild(svg);
    item.appendChild(element("span", "", text));
    return item;
  }

  function iconArray(picture) {
    var unclear = picture.clear_difference === false;
    var figure = element("figure", "picture icon-array" + (unclear ? " no-clear-difference" : ""));
    figure.appendChild(element("figcaption", "picture-title", picture.trial + ": " + picture.title));
    if (unclear) {
      // Said first and in the frame, so the groups are not read as different.
      figure.appendChild(element("p", "picture-verdict", picture.verdict));
    }
    var groups = element("div", "picture-groups");
    picture.groups.forEach(function (group) {
      var column = element("div", "picture-group");
      column.appendChild(element("p", "group-name", group.name));
      column.appendChild(hundredPeople(group.people));
      column.appendChild(
        element("p", "group-count", group.people + " in " + picture.per + " (" + group.percent + "%)")
      );
      groups.appendChild(column);
    });
    figure.appendChild(groups);
    var legend = element("p", "picture-legend");
    legend.setAttribute("aria-hidden", "true");
    legend.appendChild(legendKey(true, picture.happened));
    legend.appendChild(legendKey(false, "did not"));
    figure.appendChild(legend);
    if (!unclear && picture.verdict) {
      figure.appendChild(element("p", "picture-verdict", picture.verdict));
    }
    return figure;
  }

  function factsBox(picture) {
    var figure = element("figure", "picture facts-box");
    var scroller = element("div", "facts-scroller");
    scroller.setAttribute("tabindex", "0"); // a table wider than a phone scrolls by keyboard too
    scroller.setAttribute("role", "region");
    scroller.setAttribute("aria-label", picture.title);
    var table = element("table");
    table.appendChild(element("caption", "picture-title", picture.title));
    var head = element("tr");
    head.appendChild(element("th", "", "For every " + picture.per + " people"));
    picture.groups.forEach(function (name) {
      head.appendChild(element("th", "", name));
    });
    head.appendChild(element("th", "", "Could it be chance?"));
    Array.prototype.forEach.call(head.children, function (cell) {
      cell.setAttribute("scope", "col");
    });
    var thead = element("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = element("tbody");
    var section = null;
    picture.rows.forEach(function (row) {
      if (row.section !== section) {
        section = row.section;
        var heading = element("tr", "facts-section");
        var cell = element("th", "", section);
        cell.setAttribute("scope", "colgroup");
        cell.setAttribute("colspan", String(picture.groups.length + 2));
        heading.appendChild(cell);
        body.appendChild(heading);
      }
      var line = element("tr", row.clear_difference === false ? "no-clear-difference" : "");
      var label = element("th", "", row.label);
      label.setAttribute("scope", "row");
      line.appendChild(label);
      row.values.forEach(function (value) {
        line.appendChild(element("td", "facts-value", value === null ? "does not apply" : String(value)));
      });
      line.appendChild(element("td", "facts-verdict", typeof row.chance === "string" ? row.chance : ""));
      body.appendChild(line);
    });
    table.appendChild(body);
    scroller.appendChild(table);
    figure.appendChild(scroller);
    if (picture.note) {
      figure.appendChild(element("p", "picture-verdict", picture.note));
    }
    return figure;
  }

  function isPicture(picture) {
    return (
      picture !== null &&
      typeof picture === "object" &&
      typeof picture.alt === "string" &&
      typeof picture.title === "string" &&
      (picture.kind === "icon_array"
        ? Array.isArray(picture.groups) &&
          picture.groups.every(function (group) {
            return group && typeof group.name === "string" && Number.isInteger(group.people) &&
              group.people >= 0 && group.people <= 100;
          })
        : picture.kind === "facts_box" && Array.isArray(picture.groups) && Array.isArray(picture.rows) &&
          picture.rows.every(function (row) {
            return row && Array.isArray(row.values) && row.values.length === picture.groups.length;
          }))
    );
  }

  function drawing(picture) {
    var holder = element("div", "picture-holder");
    var alternative = element("p", "visually-hidden picture-alt", picture.alt);
    holder.appendChild(alternative);
    var drawn = picture.kind === "icon_array" ? iconArray(picture) : factsBox(picture);
    holder.appendChild(drawn);
    return holder;
  }

  // "Was this helpful?" under an answer. Its state is kept with the message (so a reload shows
  // it as it was): "asked" (Yes / No), "why" (the reasons, after No), "thanked", or "not_saved".
  var feedbackBlocks = {}; // answer id -> the block drawn for it

  function isFeedback(asked) {
    var texts = ["question", "reasons_question", "thanks", "not_saved"];
    return (
      asked !== null &&
      typeof asked === "object" &&
      typeof asked.answer === "string" &&
      ANSWER_ID.test(asked.answer) &&
      texts.every(function (key) {
        return typeof asked[key] === "string";
      }) &&
      Array.isArray(asked.choices) &&
      asked.choices.every(function (choice) {
        return choice && typeof choice.title === "string" && typeof choice.helpful === "boolean";
      }) &&
      Array.isArray(asked.reasons) &&
      asked.reasons.every(function (reason) {
        return reason && typeof reason.title === "string" && typeof reason.reason === "string";
      })
    );
  }

  function feedbackBlock(message) {
    var asked = message.feedback;
    var block = element("div", "feedback");
    block.setAttribute("role", "group");
    if (asked.state === "thanked" || asked.state === "not_saved") {
      var said = element("p", "feedback-said", asked.state === "thanked" ? asked.thanks : asked.not_saved);
      said.setAttribute("tabindex", "-1"); // where the focus goes once a choice is gone
      block.setAttribute("aria-label", asked.question);
      block.appendChild(said);
      return block;
    }
    var why = asked.state === "why";
    var question = element("p", "feedback-question", why ? asked.reasons_question : asked.question);
    question.id = "feedback-" + asked.answer;
    question.setAttribute("tabindex", "-1");
    block.setAttribute("aria-labelledby", question.id);
    block.appendChild(question);
    var choices = element("div", "feedback-choices");
    (why ? asked.reasons : asked.choices).forEach(function (choice) {
      var button = element("button", "feedback-choice", choice.title);
      button.type = "button";
      button.addEventListener("click", function () {
        choose(message, choice);
      });
      choices.appendChild(button);
    });
    block.appendChild(choices);
    return block;
  }

  function drawFeedback(bubble, message) {
    var block = feedbackBlock(message);
    feedbackBlocks[message.feedback.answer] = block;
    bubble.appendChild(block);
  }

  function redrawFeedback(message, takeFocus) {
    var old = feedbackBlocks[message.feedback.answer];
    if (!old) {
      return;
    }
    var hadFocus = old.contains(document.activeElement);
    var fresh = feedbackBlock(message);
    old.replaceWith(fresh);
    feedbackBlocks[message.feedback.answer] = fresh;
    if (takeFocus || hadFocus) {
      // The button pressed is gone: the focus goes to what replaced it, not to the page's top.
      fresh.querySelector("[tabindex='-1']").focus();
    }
  }

  function choose(message, choice) {
    var asked = message.feedback;
    var press = { answer: asked.answer, helpful: asked.state === "why" ? false : choice.helpful };
    if (asked.state === "why") {
      press.reason = choice.reason;
    }
    if (!socket.connected) {
      asked.state = "not_saved";
    } else {
      asked.state = press.helpful || press.reason ? "thanked" : "why";
      socket.emit("answer_feedback", press);
    }
    saveConversation();
    redrawFeedback(message, true);
  }

  function feedbackMessage(answer) {
    for (var index = conversation.messages.length - 1; index >= 0; index -= 1) {
      var message = conversation.messages[index];
      if (message.feedback && message.feedback.answer === answer) {
        return message;
      }
    }
    return null;
  }

  function renderText(bubble, text) {
    // A source line ending a message is set apart, in smaller type.
    var lines = text.split("\n");
    var last = lines[lines.length - 1];
    var source = lines.length > 1 && SOURCE_LINE.test(last) ? lines.pop() : null;
    var main = element("span", "message-text", lines.join("\n")); // never HTML
    bubble.appendChild(main);
    if (source) {
      bubble.appendChild(element("span", "source-line", source));
    }
  }

  function render(message) {
    var bubble = document.createElement("div");
    if (message.picture) {
      bubble.className = "message bot picture-message";
      bubble.appendChild(speakerLabel("bot"));
      bubble.appendChild(drawing(message.picture));
      transcript.appendChild(bubble);
      showFromLatestQuestion();
      return;
    }
    var isSource = message.from === "bot" && SOURCE_LINE.test(message.text);
    bubble.className = "message " + message.from + (isSource ? " source" : "");
    bubble.appendChild(speakerLabel(message.from));
    renderText(bubble, message.text);
    if (message.quickReplies && message.quickReplies.length) {
      bubble.appendChild(quickReplyButtons(message.quickReplies));
    }
    if (message.feedback) {
      drawFeedback(bubble, message);
    }
    transcript.appendChild(bubble);
    showFromLatestQuestion();
  }

  // Keep the latest question at the top while its answer arrives, so a long answer is read from
  // its start (before any question: from the notice). Scrolling is clamped to what there is.
  function showFromLatestQuestion() {
    var questions = transcript.querySelectorAll(".message.user");
    var latest = questions[questions.length - 1];
    transcript.scrollTop = latest ? latest.offsetTop - 8 : 0;
  }

  function removeQuickReplies() {
    conversation.messages.forEach(function (message) {
      delete message.quickReplies;
    });
    Array.prototype.forEach.call(transcript.querySelectorAll(".quick-replies"), function (group) {
      group.remove();
    });
  }

  function remember(message) {
    conversation.messages.push(message);
    saveConversation();
    render(message);
  }

  function renderConversation() {
    transcript.textContent = "";
    feedbackBlocks = {};
    conversation.messages.forEach(render);
  }

  var server = window.ASSISTANT_SERVER || undefined; // undefined: the page's own address
  // WebSocket first (no cross-origin request needed), long-polling where a proxy blocks it.
  var socket = window.io(server, { transports: ["websocket", "polling"] });

  // Messages wait here until the server has confirmed which conversation this page is in.
  var waiting = [];

  function emit(payload) {
    // The server knows which conversation this socket speaks for; the page need not say.
    socket.emit("user_uttered", { message: payload });
  }

  function send(payload, shownAs) {
    removeQuickReplies();
    if (shownAs) {
      remember({ from: "user", text: shownAs });
    }
    if (conversation.sessionId && socket.connected) {
      emit(payload);
      setStatus("The assistant is answering...");
    } else {
      waiting.push(payload);
      setStatus("Waiting for the connection...");
    }
  }

  socket.on("connect", function () {
    if (waiting.length) {
      setStatus("The assistant is answering...");
    } else {
      clearPassingStatus();
    }
    socket.emit("session_request", { session_id: conversation.sessionId });
  });

  socket.on("session_confirm", function (sessionId) {
    if (sessionId !== conversation.sessionId) {
      // A new conversation: the assistant opens it (its notice and a hello) before anything else.
      // If this page showed another one, the server no longer has it (deleted, or kept too long).
      if (conversation.messages.length) {
        conversation.messages = [];
        renderConversation();
        setStatus("The assistant started a new conversation.", true);
      }
      conversation.sessionId = sessionId;
      saveConversation();
      waiting.unshift(OPENING_MESSAGE);
    }
    waiting.splice(0).forEach(emit);
  });

  // The conversation was deleted on the server (from this page, or by typing "delete this
  // conversation"): forget it here too, and start a new one.
  socket.on("conversation_deleted", function () {
    forgetConversation();
    setStatus("This conversation was deleted from the server. A new one has started.", true);
    socket.emit("session_request", { session_id: null });
  });

  socket.on("bot_uttered", function (message) {
    clearPassingStatus();
    if (message && isPicture(message.picture)) {
      remember({ from: "bot", picture: message.picture });
      return;
    }
    if (message && isFeedback(message.feedback)) {
      // Sent just after the answer's last message: drawn under it.
      var answer = conversation.messages[conversation.messages.length - 1];
      var bubbles = transcript.querySelectorAll(".message.bot:not(.picture-message)");
      var bubble = bubbles[bubbles.length - 1];
      if (answer && answer.from === "bot" && answer.text && !answer.feedback && bubble) {
        answer.feedback = {
          answer: message.feedback.answer,
          question: message.feedback.question,
          choices: message.feedback.choices.map(function (choice) {
            return { title: choice.title, helpful: choice.helpful };
          }),
          reasons_question: message.feedback.reasons_question,
          reasons: message.feedback.reasons.map(function (reason) {
            return { title: reason.title, reason: reason.reason };
          }),
          thanks: message.feedback.thanks,
          not_saved: message.feedback.not_saved,
          state: "asked",
        };
        saveConversation();
        drawFeedback(bubble, answer);
      }
      return;
    }
    if (!message || typeof message.text !== "string" || !message.text.trim()) {
      return; // besides pictures, this assistant sends only text and quick replies
    }
    var replies = (message.quick_replies || []).filter(function (reply) {
      return reply && typeof reply.title === "string" && typeof reply.payload === "string";
    });
    remember({
      from: "bot",
      text: message.text,
      quickReplies: replies.map(function (reply) {
        return { title: reply.title, payload: reply.payload };
      }),
    });
  });

  // Whether a press was kept: if not, the patient is told, and may simply carry on.
  socket.on("feedback_saved", function (result) {
    var message = result && typeof result.answer === "string" ? feedbackMessage(result.answer) : null;
    if (!message || result.saved === true) {
      return;
    }
    message.feedback.state = "not_saved";
    saveConversation();
    redrawFeedback(message, false);
  });

  socket.on("connect_error", function () {
    setStatus("I can't reach the assistant right now. Trying again...");
  });

  socket.on("disconnect", function (reason) {
    if (reason !== "io client disconnect") {
      setStatus("The connection was lost. Trying again...");
    }
  });

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      setStatus("Please type a question first.");
      input.focus();
      return;
    }
    input.value = "";
    send(text, text);
  });

  function forgetConversation() {
    try {
      window.sessionStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      // nothing stored
    }
    conversation = emptyConversation();
    waiting = [];
    renderConversation();
  }

  newConversation.addEventListener("click", function () {
    forgetConversation();
    // A new socket, so that no message of the old conversation can reach this page.
    socket.disconnect();
    socket.connect();
    input.focus();
  });

  deleteConversation.addEventListener("click", function () {
    if (!conversation.sessionId) {
      setStatus("There is no conversation to delete yet.");
      return;
    }
    var sure = window.confirm(
      "Delete this conversation from the assistant's server? It cannot be brought back."
    );
    if (!sure) {
      return;
    }
    if (!socket.connected) {
      setStatus("I can't reach the assistant right now, so nothing was deleted. Please try again.");
      return;
    }
    setStatus("Deleting this conversation...");
    socket.emit("delete_conversation");
    input.focus();
  });

  renderConversation();
})();
