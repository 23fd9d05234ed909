import { test } from "node:test";
import assert from "node:assert/strict";
import { AdamaError, codeName } from "../dist/index.js";

test("codes map to the protocol's names", () => {
  assert.equal(codeName(134214), "DEPLOYMENT_FACTORY_CANT_FIND_SPACE");
  assert.equal(codeName(143407), "LIVING_DOCUMENT_TRANSACTION_MESSAGE_ALREADY_SENT");
  assert.equal(codeName(403500), "AUTH_DISCONNECTED");
  assert.equal(codeName(457745), "CONNECTION_NOT_FOUND_SEND");
  assert.equal(codeName(999), "SOCKET_LOST");
  assert.equal(codeName(123), "UNKNOWN_123");
});

test("an AdamaError is an Error with the code, its name and the retry hint", () => {
  const error = new AdamaError(144416, true, "connection/create");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "AdamaError");
  assert.equal(error.code, 144416);
  assert.equal(error.codeName, "CATASTROPHIC_DOCUMENT_FAILURE_EXCEPTION");
  assert.equal(error.retry, true);
  assert.equal(error.message, "connection/create: CATASTROPHIC_DOCUMENT_FAILURE_EXCEPTION (144416)");
});
