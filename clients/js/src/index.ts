export { Connection, type ConnectionOptions, type SocketLike, type SocketFactory, type Status, type StatusListener } from "./connection.js";
export { DocumentStream, type SendResult, type StreamState, type OtherItem } from "./stream.js";
export { View, type Json, type JsonObject, type Path, type ChangeListener } from "./view.js";
export { AdamaError, codeName, SOCKET_LOST } from "./errors.js";
