// Package evaltasks scores language models on the multiple-choice benchmarks
// of the paper's Tables 2-3 (ARC-Challenge, HellaSwag, MMLU, CommonsenseQA,
// Belebele, and their translations) and aggregates held-out perplexity.
//
// It follows the lm-evaluation-harness design: a task is data + prompt format
// + metric, and scoring is shared. A benchmark is a loader (one file per
// upstream file format) that renders each document into the harness's prompt
// text once; everything after that — few-shot assembly, requests, metrics,
// reports — is the same code for every task. The model is hidden behind the
// small Scorer interface, so this package never imports models or runtime.
//
// Prompts reproduce lm-evaluation-harness (EleutherAI) task configurations
// character for character, because published numbers move by points when a
// space or a newline moves:
//
//	arc_challenge   "Question: {stem}\nAnswer:"            + " {choice text}"
//	hellaswag       "{activity_label}: {ctx_a} {Ctx_b}"     + " {ending}"   (preprocess())
//	mmlu            "{question}\nA. ..\nB. ..\nC. ..\nD. ..\nAnswer:" + " A".." D"
//	                after the description "The following are multiple choice
//	                questions (with answers) about {subject}.\n\n"
//	commonsense_qa  "Question: {stem}\nA. ..\n..E. ..\nAnswer:" + " A".." E"
//	belebele        "P: {passage}\nQ: {question}\nA: ..\nB: ..\nC: ..\nD: ..\nAnswer:" + " A".." D"
//
// Few-shot examples are "{query} {gold choice}" joined by "\n\n", as the
// harness's default fewshot_delimiter and target_delimiter.
package evaltasks
