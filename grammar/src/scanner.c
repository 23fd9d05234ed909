// The external scanner of the Adama grammar: template literals.
//
// A template literal opens with a backtick, an optional tag and a second backtick; that same
// opening sequence closes it, so the body ends at the first recurrence of "`tag`". A regular
// expression cannot say "the same tag again", hence this scanner.

#include "tree_sitter/parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum TokenType { TEMPLATE_LITERAL };

#define MAX_TAG 64

void *tree_sitter_adama_external_scanner_create(void) { return NULL; }

void tree_sitter_adama_external_scanner_destroy(void *payload) { (void)payload; }

unsigned tree_sitter_adama_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}

void tree_sitter_adama_external_scanner_deserialize(void *payload, const char *buffer, unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static bool is_space(int32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool tree_sitter_adama_external_scanner_scan(void *payload, TSLexer *lexer, const bool *valid_symbols) {
  (void)payload;
  if (!valid_symbols[TEMPLATE_LITERAL]) {
    return false;
  }
  while (is_space(lexer->lookahead)) {
    lexer->advance(lexer, true);
  }
  if (lexer->lookahead != '`') {
    return false;
  }
  lexer->advance(lexer, false);

  int32_t tag[MAX_TAG];
  unsigned tag_length = 0;
  while (lexer->lookahead != '`') {
    if (lexer->eof(lexer) || tag_length == MAX_TAG) {
      return false;
    }
    tag[tag_length++] = lexer->lookahead;
    lexer->advance(lexer, false);
  }
  lexer->advance(lexer, false);

  // Look for "`tag`" in the body. On a partial match, restart from the character that broke it;
  // a broken match that ends on a backtick may itself open a new candidate.
  for (;;) {
    if (lexer->eof(lexer)) {
      return false;
    }
    if (lexer->lookahead != '`') {
      lexer->advance(lexer, false);
      continue;
    }
    lexer->advance(lexer, false);
    bool restart = false;
    unsigned matched = 0;
    while (matched < tag_length) {
      if (lexer->eof(lexer)) {
        return false;
      }
      if (lexer->lookahead != tag[matched]) {
        restart = true;
        break;
      }
      lexer->advance(lexer, false);
      matched++;
    }
    if (restart) {
      continue;
    }
    if (lexer->lookahead == '`') {
      lexer->advance(lexer, false);
      lexer->result_symbol = TEMPLATE_LITERAL;
      return true;
    }
  }
}
