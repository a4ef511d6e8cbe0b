// The chat widget: talks to the assistant over Rasa's socket.io channel.
//
// The conversation (the token the server issued for it, and the messages shown) is kept in
// sessionStorage, so a page reload shows it again and carries on with the same conversation on
// the server; closing the tab forgets it, which suits a shared computer. "New chat" forgets it at
// once. "Delete this conversation" also deletes it on the server, after asking.
(function () {
  "use strict";

  var STORAGE_KEY = "ms-trial-assistant.conversation";
  var OPENING_MESSAGE = "/greet"; // sent unseen when a conversation starts: the notice, then a hello
  var SOURCE_LINE = /^Sources?: /;

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

  function setStatus(text) {
    statusLine.textContent = text;
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

  function render(message) {
    var bubble = document.createElement("div");
    var isSource = message.from === "bot" && SOURCE_LINE.test(message.text);
    bubble.className = "message " + message.from + (isSource ? " source" : "");
    bubble.appendChild(speakerLabel(message.from));
    var text = document.createElement("span");
    text.className = "message-text";
    text.textContent = message.text; // never HTML: nothing a message holds can run in the page
    bubble.appendChild(text);
    if (message.quickReplies && message.quickReplies.length) {
      bubble.appendChild(quickReplyButtons(message.quickReplies));
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
    setStatus(waiting.length ? "The assistant is answering..." : "");
    socket.emit("session_request", { session_id: conversation.sessionId });
  });

  socket.on("session_confirm", function (sessionId) {
    if (sessionId !== conversation.sessionId) {
      // A new conversation: the assistant opens it (its notice and a hello) before anything else.
      // If this page showed another one, the server no longer has it (deleted, or kept too long).
      if (conversation.messages.length) {
        conversation.messages = [];
        renderConversation();
        setStatus("The assistant started a new conversation.");
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
    setStatus("This conversation was deleted from the server. A new one has started.");
    socket.emit("session_request", { session_id: null });
  });

  socket.on("bot_uttered", function (message) {
    setStatus("");
    if (!message || typeof message.text !== "string" || !message.text.trim()) {
      return; // this assistant sends only text and quick replies
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
