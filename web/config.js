// Where the assistant's socket.io channel is. Empty: the same address as this page, as when a
// proxy such as nginx serves both. `make run` serves its own copy, pointed at the local server.
window.ASSISTANT_SERVER = "";
