//! The protocol loop: capabilities, the open documents, and dispatch to the handlers.
//!
//! Edits are applied synchronously, before any `.await`, so that requests always see the latest
//! text. Queries run on a snapshot of the database in a blocking task; a newer edit cancels them
//! (salsa unwinds them with `Cancelled`), so a long check never holds up typing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adama_compiler::{Database, SourceFile};
use salsa::Setter;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CodeActionResponse, CodeLens, CodeLensOptions, CodeLensParams,
    CompletionOptions, CompletionParams, CompletionResponse, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DocumentFormattingParams,
    DocumentHighlight, DocumentHighlightParams, DocumentSymbolParams, DocumentSymbolResponse,
    FoldingRange, FoldingRangeParams, FoldingRangeProviderCapability, GotoDefinitionParams,
    GotoDefinitionResponse, Hover, HoverParams, HoverProviderCapability, InitializeParams,
    InitializeResult, InitializedParams, InlayHint, InlayHintParams, Location, MessageType, OneOf,
    PrepareRenameResponse, ReferenceParams, RenameOptions, RenameParams, SelectionRange,
    SelectionRangeParams, SelectionRangeProviderCapability, SemanticToken, SemanticTokens,
    SemanticTokensDelta, SemanticTokensDeltaParams, SemanticTokensFullDeltaResult,
    SemanticTokensFullOptions, SemanticTokensOptions, SemanticTokensParams,
    SemanticTokensRangeParams, SemanticTokensRangeResult, SemanticTokensResult,
    SemanticTokensServerCapabilities, ServerCapabilities, ServerInfo, SignatureHelp,
    SignatureHelpOptions, SignatureHelpParams, TextDocumentPositionParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, TypeDefinitionProviderCapability,
    Uri, WorkDoneProgressOptions, WorkspaceEdit, WorkspaceSymbol, WorkspaceSymbolParams,
    WorkspaceSymbolResponse,
    request::{GotoTypeDefinitionParams, GotoTypeDefinitionResponse},
};
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::convert::{offset_of, range_of};
use crate::document::Document;
use crate::handlers;

/// The stack of the threads that run compiler queries: checking recurses over nested code.
const QUERY_STACK_BYTES: usize = 64 * 1024 * 1024;

/// The open documents and the database that knows them.
#[derive(Debug, Default)]
struct State {
    db: Database,
    documents: HashMap<Uri, (SourceFile, Document)>,
    /// The workspace folders the client named at initialisation.
    roots: Vec<std::path::PathBuf>,
    /// Whether the client runs the "Debug test" lens's command.
    debug_test_lens: bool,
    /// Whether the client asks for semantic tokens, so that they are worth computing as soon as
    /// a document opens.
    client_wants_tokens: bool,
}

/// The language server.
#[derive(Debug)]
pub struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
    /// The last semantic tokens sent for each document, for delta requests.
    tokens: Mutex<HashMap<Uri, (String, Vec<SemanticToken>)>>,
    /// The tokens of each document's top-level nodes, so that an edit recomputes only the
    /// nodes it touched.
    token_cache: Arc<handlers::semantic_tokens::TokenCache>,
    n_token_results: std::sync::atomic::AtomicU64,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            state: Arc::default(),
            tokens: Mutex::default(),
            token_cache: Arc::default(),
            n_token_results: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Runs `query` on a snapshot of the database in a blocking task; `None` if a newer edit
    /// cancelled it or the document is not open.
    async fn query<T: Send + 'static>(
        &self,
        uri: &Uri,
        query: impl FnOnce(&Database, SourceFile, &Document) -> T + Send + 'static,
    ) -> Option<T> {
        let (db, file, document) = {
            let state = self.state.lock().ok()?;
            let (file, document) = state.documents.get(uri)?;
            (state.db.clone(), *file, document.clone())
        };
        tokio::task::spawn_blocking(move || {
            salsa::Cancelled::catch(std::panic::AssertUnwindSafe(|| query(&db, file, &document)))
                .ok()
        })
        .await
        .ok()
        .flatten()
    }

    /// Loads the Adama files of the workspace folders that are not open yet; returns their URIs.
    fn load_workspace(&self) -> Vec<Uri> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        let roots = state.roots.clone();
        let mut loaded = Vec::new();
        for path in roots
            .iter()
            .flat_map(|root| crate::workspace::adama_files(root))
        {
            let Some(uri) = Uri::from_file_path(&path) else {
                continue;
            };
            if state.documents.contains_key(&uri) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(text) = adama_compiler::decode_source(&bytes) else {
                continue;
            };
            let file = SourceFile::new(&state.db, uri.as_str().to_owned(), text.clone());
            state
                .documents
                .insert(uri.clone(), (file, Document::new(&text, 0)));
            loaded.push(uri);
        }
        loaded
    }

    /// Runs a handler that maps a position to a byte range of the same document, as a location.
    async fn locate(
        &self,
        params: TextDocumentPositionParams,
        find: fn(&dyn adama_compiler::Db, SourceFile, usize) -> Option<std::ops::Range<usize>>,
    ) -> Option<GotoDefinitionResponse> {
        let position = params.position;
        let target_uri = params.text_document.uri.clone();
        self.query(&params.text_document.uri, move |db, file, document| {
            let offset = offset_of(&document.rope, position);
            find(db, file, offset).map(|span| {
                GotoDefinitionResponse::Scalar(Location::new(
                    target_uri,
                    range_of(&document.rope, span),
                ))
            })
        })
        .await
        .flatten()
    }

    async fn compute_tokens(&self, uri: &Uri) -> Option<Vec<SemanticToken>> {
        let cache = Arc::clone(&self.token_cache);
        self.query(uri, move |db, file, _| {
            handlers::semantic_tokens::semantic_tokens(db, file, &cache).data
        })
        .await
    }

    fn remember_tokens(&self, uri: &Uri, tokens: &[SemanticToken]) -> String {
        let n = self
            .n_token_results
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result_id = n.to_string();
        if let Ok(mut remembered) = self.tokens.lock() {
            remembered.insert(uri.clone(), (result_id.clone(), tokens.to_vec()));
        }
        result_id
    }

    /// Checks a document and publishes its diagnostics, unless a newer version arrived meanwhile.
    async fn publish_diagnostics(&self, uri: Uri) {
        let target_uri = uri.clone();
        let result = self
            .query(&uri, move |db, file, document| {
                (
                    handlers::diagnostics::diagnostics(db, file, &document.rope, &target_uri),
                    document.version,
                )
            })
            .await;
        let Some((diagnostics, version)) = result else {
            return;
        };
        let current = self.state.lock().ok().and_then(|state| {
            state
                .documents
                .get(&uri)
                .map(|(_, document)| document.version)
        });
        if current == Some(version) {
            self.client
                .publish_diagnostics(uri, diagnostics, Some(version))
                .await;
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let mut roots: Vec<std::path::PathBuf> = params
            .workspace_folders
            .unwrap_or_default()
            .iter()
            .filter_map(|folder| folder.uri.to_file_path().map(|path| path.into_owned()))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty()
            && let Some(root) = params.root_uri.as_ref().and_then(|uri| uri.to_file_path())
        {
            roots.push(root.into_owned());
        }
        let debug_test_lens = params
            .initialization_options
            .as_ref()
            .and_then(|options| options.get(handlers::code_lens::DEBUG_TEST_OPTION))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let client_wants_tokens = params
            .capabilities
            .text_document
            .as_ref()
            .is_some_and(|text_document| text_document.semantic_tokens.is_some());
        if let Ok(mut state) = self.state.lock() {
            state.roots = roots;
            state.debug_test_lens = debug_test_lens;
            state.client_wants_tokens = client_wants_tokens;
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::INCREMENTAL,
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                type_definition_provider: Some(TypeDefinitionProviderCapability::Simple(true)),
                signature_help_provider: Some(SignatureHelpOptions {
                    trigger_characters: Some(vec!["(".to_owned(), ",".to_owned()]),
                    retrigger_characters: None,
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
                inlay_hint_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::REFACTOR_REWRITE,
                            CodeActionKind::REFACTOR_EXTRACT,
                        ]),
                        ..CodeActionOptions::default()
                    },
                )),
                // Invariant: no `execute_command_provider` for the lens's command. The editor
                // runs it; advertising it would make clients such as vscode-languageclient
                // register a second command of the same name and fail.
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(true),
                }),
                document_highlight_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["#".to_owned(), ":".to_owned()]),
                    ..CompletionOptions::default()
                }),
                selection_range_provider: Some(SelectionRangeProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: handlers::semantic_tokens::legend(),
                            full: Some(SemanticTokensFullOptions::Delta { delta: Some(true) }),
                            range: Some(true),
                            work_done_progress_options: WorkDoneProgressOptions::default(),
                        },
                    ),
                ),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "adama".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.client
            .log_message(MessageType::INFO, "adama language server ready")
            .await;
        for uri in self.load_workspace() {
            self.publish_diagnostics(uri).await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        if let Ok(mut state) = self.state.lock() {
            let file = SourceFile::new(
                &state.db,
                document.uri.as_str().to_owned(),
                document.text.clone(),
            );
            state.documents.insert(
                document.uri.clone(),
                (file, Document::new(&document.text, document.version)),
            );
        }
        self.publish_diagnostics(document.uri.clone()).await;
        // An editor asks for the colours of a document it opens: with the tokens of every item
        // cached now, that request and those after each edit only assemble them.
        let wants_tokens = self
            .state
            .lock()
            .is_ok_and(|state| state.client_wants_tokens);
        if wants_tokens {
            let _ = self.compute_tokens(&document.uri).await;
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Ok(mut state) = self.state.lock() {
            let state = &mut *state;
            if let Some((file, document)) = state.documents.get_mut(&uri) {
                for change in &params.content_changes {
                    document.apply(change);
                }
                document.version = params.text_document.version;
                let text = document.text();
                let file = *file;
                file.set_text(&mut state.db).to(text);
            }
        }
        self.publish_diagnostics(uri).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Ok(mut state) = self.state.lock() {
            state.documents.remove(&uri);
        }
        self.token_cache.forget(uri.as_str());
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&uri);
        }
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let symbols = self
            .query(&params.text_document.uri, |db, file, document| {
                handlers::symbols::document_symbols(db, file, &document.rope)
            })
            .await;
        Ok(symbols.map(DocumentSymbolResponse::Nested))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        Ok(self
            .query(&params.text_document.uri, |db, file, _| {
                handlers::folding::folding_ranges(db, file)
            })
            .await)
    }

    async fn selection_range(
        &self,
        params: SelectionRangeParams,
    ) -> Result<Option<Vec<SelectionRange>>> {
        let positions = params.positions;
        Ok(self
            .query(&params.text_document.uri, move |db, file, document| {
                positions
                    .iter()
                    .map(|position| {
                        let offset = offset_of(&document.rope, *position);
                        handlers::selection::selection_range(db, file, &document.rope, offset)
                    })
                    .collect()
            })
            .await)
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let uri = params.text_document.uri;
        let Some(tokens) = self.compute_tokens(&uri).await else {
            return Ok(None);
        };
        let result_id = self.remember_tokens(&uri, &tokens);
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: Some(result_id),
            data: tokens,
        })))
    }

    async fn semantic_tokens_full_delta(
        &self,
        params: SemanticTokensDeltaParams,
    ) -> Result<Option<SemanticTokensFullDeltaResult>> {
        let uri = params.text_document.uri;
        let Some(tokens) = self.compute_tokens(&uri).await else {
            return Ok(None);
        };
        let previous = self
            .tokens
            .lock()
            .ok()
            .and_then(|tokens| tokens.get(&uri).cloned())
            .filter(|(result_id, _)| *result_id == params.previous_result_id);
        let result_id = self.remember_tokens(&uri, &tokens);
        Ok(Some(match previous {
            Some((_, old)) => SemanticTokensFullDeltaResult::TokensDelta(SemanticTokensDelta {
                result_id: Some(result_id),
                edits: handlers::semantic_tokens::delta(&old, &tokens),
            }),
            None => SemanticTokensFullDeltaResult::Tokens(SemanticTokens {
                result_id: Some(result_id),
                data: tokens,
            }),
        }))
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        let range = params.range;
        let cache = Arc::clone(&self.token_cache);
        // The end position's line is included unless the range stops at its first character.
        let end_line = if range.end.character == 0 {
            range.end.line
        } else {
            range.end.line.saturating_add(1)
        };
        let lines = range.start.line..end_line.max(range.start.line);
        Ok(self
            .query(&params.text_document.uri, move |db, file, _| {
                SemanticTokensRangeResult::Tokens(
                    handlers::semantic_tokens::semantic_tokens_in_lines(db, file, &cache, lines),
                )
            })
            .await)
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        Ok(self
            .locate(
                params.text_document_position_params,
                handlers::definition::definition,
            )
            .await)
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let snapshot = self.state.lock().ok().map(|state| {
            let files: Vec<(Uri, SourceFile, ropey::Rope)> = state
                .documents
                .iter()
                .map(|(uri, (file, document))| (uri.clone(), *file, document.rope.clone()))
                .collect();
            (state.db.clone(), files)
        });
        let Some((db, files)) = snapshot else {
            return Ok(None);
        };
        let query = params.query;
        let symbols: Option<Vec<WorkspaceSymbol>> = tokio::task::spawn_blocking(move || {
            salsa::Cancelled::catch(std::panic::AssertUnwindSafe(|| {
                handlers::symbols::workspace_symbols(&db, &files, &query)
            }))
            .ok()
        })
        .await
        .ok()
        .flatten();
        Ok(symbols.map(WorkspaceSymbolResponse::Nested))
    }

    async fn goto_type_definition(
        &self,
        params: GotoTypeDefinitionParams,
    ) -> Result<Option<GotoTypeDefinitionResponse>> {
        Ok(self
            .locate(
                params.text_document_position_params,
                handlers::definition::type_definition,
            )
            .await)
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        let position = params.text_document_position_params.position;
        Ok(self
            .query(
                &params.text_document_position_params.text_document.uri,
                move |db, file, document| {
                    handlers::signature_help::signature_help(
                        db,
                        file,
                        offset_of(&document.rope, position),
                    )
                },
            )
            .await
            .flatten())
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        Ok(self
            .query(&params.text_document.uri, |_, _, document| {
                handlers::formatting::formatting(&document.rope)
            })
            .await)
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let range = params.range;
        Ok(self
            .query(&params.text_document.uri, move |db, file, document| {
                let span =
                    offset_of(&document.rope, range.start)..offset_of(&document.rope, range.end);
                handlers::inlay_hints::inlay_hints(db, file, &document.rope, span)
            })
            .await)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let range = params.range;
        let uri = params.text_document.uri;
        let only = params.context.only;
        let target_uri = uri.clone();
        Ok(self
            .query(&uri, move |db, file, document| {
                let span =
                    offset_of(&document.rope, range.start)..offset_of(&document.rope, range.end);
                let rope = &document.rope;
                let mut actions =
                    handlers::code_actions::code_actions(db, file, rope, &target_uri, span.clone());
                actions.extend(handlers::refactorings::refactorings(
                    db,
                    file,
                    rope,
                    &target_uri,
                    span,
                ));
                actions
                    .into_iter()
                    .filter(|action| wanted(action.kind.as_ref(), only.as_deref()))
                    .map(CodeActionOrCommand::CodeAction)
                    .collect()
            })
            .await)
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        // "Run test" runs the file on disk, so a document without a path (an unsaved buffer)
        // has only reference lenses.
        let path = uri.to_file_path().map(|path| path.display().to_string());
        let uri_text = uri.as_str().to_owned();
        let debug = self
            .state
            .lock()
            .map(|state| state.debug_test_lens)
            .unwrap_or(false);
        Ok(self
            .query(&uri, move |db, file, document| {
                let mut lenses = match &path {
                    Some(path) => {
                        handlers::code_lens::code_lenses(db, file, &document.rope, path, debug)
                    }
                    None => Vec::new(),
                };
                lenses.extend(handlers::code_lens::reference_lenses(
                    db,
                    file,
                    &document.rope,
                    &uri_text,
                ));
                lenses
            })
            .await)
    }

    async fn code_lens_resolve(&self, lens: CodeLens) -> Result<CodeLens> {
        let target = lens.data.as_ref().and_then(|data| {
            let uri = data.get("uri")?.as_str()?.parse::<Uri>().ok()?;
            let offset = usize::try_from(data.get("offset")?.as_u64()?).ok()?;
            Some((uri, offset))
        });
        let Some((uri, offset)) = target else {
            return Ok(lens);
        };
        let uri_text = uri.as_str().to_owned();
        let unresolved = lens.clone();
        Ok(self
            .query(&uri, move |db, file, document| {
                handlers::code_lens::resolve_references(
                    db,
                    file,
                    &document.rope,
                    &uri_text,
                    offset,
                    unresolved,
                )
            })
            .await
            .unwrap_or(lens))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let position = params.text_document_position.position;
        let uri = params.text_document_position.text_document.uri;
        let target_uri = uri.clone();
        let include_declaration = params.context.include_declaration;
        Ok(self
            .query(&uri, move |db, file, document| {
                let offset = offset_of(&document.rope, position);
                let declaration =
                    handlers::semantic::classify(db, file, offset).and_then(|classified| {
                        handlers::semantic::declaration(db, file, &classified.definition)
                    });
                handlers::references::references(db, file, offset)
                    .into_iter()
                    .filter(|range| include_declaration || Some(range) != declaration.as_ref())
                    .map(|range| Location::new(target_uri.clone(), range_of(&document.rope, range)))
                    .collect()
            })
            .await)
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        let position = params.text_document_position_params.position;
        let uri = params.text_document_position_params.text_document.uri;
        Ok(self
            .query(&uri, move |db, file, document| {
                let offset = offset_of(&document.rope, position);
                handlers::references::references(db, file, offset)
                    .into_iter()
                    .map(|range| DocumentHighlight {
                        range: range_of(&document.rope, range),
                        kind: None,
                    })
                    .collect()
            })
            .await)
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let position = params.position;
        Ok(self
            .query(&params.text_document.uri, move |db, file, document| {
                let offset = offset_of(&document.rope, position);
                handlers::definition::definition(db, file, offset)?;
                let (range, _) = handlers::references::name_at(db, file, offset)?;
                Some(PrepareRenameResponse::Range(range_of(
                    &document.rope,
                    range,
                )))
            })
            .await
            .flatten())
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let position = params.text_document_position.position;
        let uri = params.text_document_position.text_document.uri;
        let new_name = params.new_name;
        let target_uri = uri.clone();
        let refusal_name = new_name.clone();
        let refusal = self
            .query(&uri, move |db, file, document| {
                let offset = offset_of(&document.rope, position);
                handlers::references::rename_refusal(db, file, offset, &refusal_name)
            })
            .await
            .flatten();
        if let Some(reason) = refusal {
            return Err(tower_lsp_server::jsonrpc::Error::invalid_params(reason));
        }
        Ok(self
            .query(&uri, move |db, file, document| {
                let offset = offset_of(&document.rope, position);
                let edits: Vec<TextEdit> =
                    handlers::references::rename_edits(db, file, offset, &new_name)
                        .into_iter()
                        .map(|(range, text)| TextEdit::new(range_of(&document.rope, range), text))
                        .collect();
                (!edits.is_empty()).then(|| WorkspaceEdit {
                    changes: Some(std::iter::once((target_uri, edits)).collect()),
                    ..WorkspaceEdit::default()
                })
            })
            .await
            .flatten())
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let position = params.text_document_position.position;
        Ok(self
            .query(
                &params.text_document_position.text_document.uri,
                move |db, file, document| {
                    let offset = offset_of(&document.rope, position);
                    CompletionResponse::Array(handlers::completion::completions(db, file, offset))
                },
            )
            .await)
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let position = params.text_document_position_params.position;
        let uri = params.text_document_position_params.text_document.uri;
        Ok(self
            .query(&uri, move |db, file, document| {
                let offset = offset_of(&document.rope, position);
                handlers::hover::hover(db, file, &document.rope, offset)
            })
            .await
            .flatten())
    }
}

/// Whether an action of `kind` is among the kinds the client asked for: a requested kind covers
/// its sub-kinds (`refactor` covers `refactor.extract`).
fn wanted(
    kind: Option<&tower_lsp_server::ls_types::CodeActionKind>,
    only: Option<&[tower_lsp_server::ls_types::CodeActionKind]>,
) -> bool {
    let Some(only) = only else {
        return true;
    };
    let kind = kind.map_or("", |kind| kind.as_str());
    only.iter().any(|wanted| {
        let wanted = wanted.as_str();
        kind == wanted
            || kind
                .strip_prefix(wanted)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Serves the protocol on stdin and stdout until the client exits.
pub fn serve_stdio() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(QUERY_STACK_BYTES)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (service, socket) = LspService::new(Backend::new);
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
    Ok(())
}
