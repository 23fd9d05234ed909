// The protocol's failure codes and their names, so that a page can test `error.codeName` or
// `error.code` instead of comparing bare numbers it found in a log.

/** The code this library reports when the socket went away while a request was in flight. */
export const SOCKET_LOST = 999;

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [SOCKET_LOST, "SOCKET_LOST"],
  [-1, "CONNECTION_NOT_FOUND"],
  [213708, "USERLAND_REQUEST_NO_METHOD_PROPERTY"],
  [233120, "USERLAND_REQUEST_NO_ID_PROPERTY"],
  [213711, "ONLY_ACCEPTS_TEXT_FRAMES"],
  [295116, "UNCAUGHT_EXCEPTION_WEB_SOCKET"],
  [945213, "API_METHOD_NOT_FOUND"],
  [123004, "TOO_MANY_REQUESTS_IN_FLIGHT"],
  [413413, "REQUEST_TOO_LARGE"],
  [458759, "MISSING_IDENTITY"],
  [466947, "MISSING_KEY"],
  [454659, "MISSING_CHANNEL"],
  [461828, "MISSING_SPACE"],
  [405505, "MISSING_CONNECTION"],
  [461826, "MISSING_ARG"],
  [425987, "MISSING_MESSAGE"],
  [457745, "CONNECTION_NOT_FOUND_SEND"],
  [410619, "CONNECTION_NOT_FOUND_SEND_ONCE"],
  [438302, "CONNECTION_NOT_FOUND_UPDATE"],
  [474128, "CONNECTION_NOT_FOUND_END"],
  [462832, "CONNECTION_NOT_FOUND_PASSWORD"],
  [494559, "CONNECTION_NOT_FOUND_CAN_ATTACH"],
  [442363, "CONNECTION_NOT_FOUND_ATTACH"],
  [134214, "DEPLOYMENT_FACTORY_CANT_FIND_SPACE"],
  [625676, "UNIVERSAL_LOOKUP_FAILED"],
  [134259, "SERVICE_DOCUMENT_REJECTED_CREATION"],
  [130092, "SERVICE_DOCUMENT_ALREADY_CREATED"],
  [995505, "API_CREATE_DOCUMENT_SPACE_RESERVED"],
  [184333, "LIVING_DOCUMENT_TRANSACTION_CLIENT_REJECTED"],
  [115724, "LIVING_DOCUMENT_TRANSACTION_ALREADY_CONNECTED"],
  [143373, "LIVING_DOCUMENT_TRANSACTION_CANT_SEND_NOT_CONNECTED"],
  [160268, "LIVING_DOCUMENT_TRANSACTION_CANT_SEND_NO_CHANNEL"],
  [184332, "LIVING_DOCUMENT_TRANSACTION_CANT_SEND_NO_MESSAGE"],
  [143407, "LIVING_DOCUMENT_TRANSACTION_MESSAGE_ALREADY_SENT"],
  [127152, "LIVING_DOCUMENT_TRANSACTION_MESSAGE_DIRECT_ABORT"],
  [130559, "LIVING_DOCUMENT_TRANSACTION_MESSAGE_POLICY"],
  [145627, "LIVING_DOCUMENT_TRANSACTION_FAILED_PARSE_MESSAGE"],
  [117823, "LIVING_DOCUMENT_TRANSACTION_NO_SUCH_CHANNEL"],
  [125966, "LIVING_DOCUMENT_TRANSACTION_CANT_ATTACH_NOT_CONNECTED"],
  [147186, "LIVING_DOCUMENT_TRANSACTION_DELETE_REJECTED"],
  [134195, "DOCUMENT_SELF_DESTRUCT_SUCCESSFUL"],
  [192373, "LIVING_DOCUMENT_TRANSACTION_CANT_MUTATE_READONLY"],
  [950384, "API_GOODWILL_EXCEPTION"],
  [180978, "LIVING_DOCUMENT_TRANSACTION_UNKNOWN_EXCEPTION"],
  [144416, "CATASTROPHIC_DOCUMENT_FAILURE_EXCEPTION"],
  [144583, "DOCUMENT_READ_ONLY"],
  [184232, "LIVING_DOCUMENT_WRITE_ONLY_MODE_UNABLE_UPDATE_VIEW"],
  [183498, "SHIELD_REJECT_CONNECT_DOCUMENT"],
  [199883, "SHIELD_REJECT_SEND_MESSAGE"],
  [193265, "DOCUMENT_DRAINING_LOAD"],
  [403500, "AUTH_DISCONNECTED"],
  [403403, "AUTH_FORBIDDEN"],
  [995342, "AUTH_INVALID_TOKEN_LAYOUT"],
  [908303, "AUTH_INVALID_TOKEN_JSON"],
  [959500, "AUTH_INVALID_TOKEN_JSON_COMPLETE"],
  [916531, "AUTH_FAILED_VALIDATING_AGAINST_KEYSTORE"],
  [191713, "DOCUMENT_AUTHORIZE_FAILURE"],
  [909436, "AUTH_COOKIE_CANT_STASH_COOKIE"],
  [990417, "API_VALIDATE_DOMAIN_NO_SPACE_FOUND"],
  [916689, "API_VALIDATE_DOMAIN_NO_KEY_FOUND"],
  [919676, "API_INVALID_KEY"],
  [946192, "API_KEY_TOO_LONG"],
  [937076, "API_INVALID_SPACE"],
  [950399, "API_INVALID_CHANNEL"],
  [133308, "DOCUMENT_WEB_GET_NOT_FOUND"],
  [114881, "DOCUMENT_WEB_PUT_NOT_FOUND"],
  [110832, "DOCUMENT_WEB_DELETE_NOT_FOUND"],
  [127692, "DOCUMENT_WEB_OPTIONS_NOT_FOUND"],
  [145659, "DOCUMENT_WEB_GET_ABORT"],
  [134399, "DOCUMENT_WEB_PUT_ABORT"],
  [120060, "DOCUMENT_WEB_DELETE_ABORT"],
]);

/** The name of a protocol code, or `UNKNOWN_<code>` for a code this library does not know. */
export function codeName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN_${code}`;
}

/** A failure reported by the server (or a lost socket, code 999) for one request or stream. */
export class AdamaError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** The server's hint that the same request may succeed later. */
  readonly retry: boolean;

  constructor(code: number, retry = false, context?: string) {
    const name = codeName(code);
    super(context ? `${context}: ${name} (${code})` : `${name} (${code})`);
    this.name = "AdamaError";
    this.code = code;
    this.codeName = name;
    this.retry = retry;
  }
}

/** Turns a `status:"disconnected"` reason (a code, or a word such as `keepalive-failure`) into an error. */
export function disconnectError(reason: unknown): AdamaError {
  if (typeof reason === "number") {
    return new AdamaError(reason, false, "disconnected");
  }
  const code = typeof reason === "string" && /^-?\d+$/.test(reason) ? Number(reason) : SOCKET_LOST;
  return new AdamaError(code, false, `disconnected (${String(reason)})`);
}
