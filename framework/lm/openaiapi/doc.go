// Package openaiapi is the OpenAI HTTP API as kalm speaks it: the wire types
// of /v1/chat/completions, /v1/embeddings and /v1/models shared by the
// openai backend (plugins/openai, the client) and [Server] (any [lm.LM]
// behind the API, which `kalm serve-lm` runs for a tinylm checkpoint), the
// JSON schemas of kalm's replies with a validator for the subset they use,
// and the query format that lets a server answer a kalm request by calling a
// grounded model instead of reading the prompt as text.
//
// # Queries
//
// Every chat request kalm sends asks for one JSON reply constrained by
// response_format {"type": "json_schema", "json_schema": {"name":
// "kalm_TASK", "strict": true, "schema": ...}} and ends with a user message
// whose last line is a [Query], a JSON object:
//
//	{"task":"generate","goal":"go to cell 3","state":[1,3],"steps":8}
//	{"task":"explain","states":[[1,3],[2,3]],"actions":[[2]]}
//	{"task":"predict","state":[1,3],"action":[2]}
//	{"task":"predict","state":[1,3],"action":[2],"previous":[0,3]}
//	{"task":"act","goal":"go to cell 3","states":[[1,3],[2,3]],"actions":[[2]]}
//
// States are observation vectors; actions are vectors too (one element, the
// action's index, for a discrete action space). A predict query's previous
// state, when given, is the one before its state (lm.PredictRequest's
// Previous). An act query's states are
// the history and the current state, one more than its actions. The replies
// ([GenerateReply], [ExplainReply], [PredictReply], [ActReply]):
//
//	{"steps":[{"action":[2],"state":[2,3]}, ...]}   1 to "steps" of them
//	{"goal":"go to cell 3"}
//	{"state":[2,3]}
//	{"action":[2]}
//
// The messages before the query (the instructions and few-shot examples) are
// for a general model that reads the prompt as text; [Server] reads only the
// query and answers from its grounded model, so the same prompt works against
// llama.cpp, vLLM, Ollama, a hosted API and `kalm serve-lm`.
package openaiapi
