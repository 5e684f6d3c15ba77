// Package dataprep turns raw web crawls into training text for nrgraph: the
// data recipe of the paper's Section 4.1 (main-text extraction from HTML,
// language identification, paragraph-level deduplication, then a linear
// quality classifier over the document).
//
// The pipeline streams: one goroutine reads inputs (WARC, HTML, plain text,
// JSONL) in the order given, workers extract text and score paragraphs in
// parallel, and a single ordered stage deduplicates and writes, so the output
// is byte-identical whatever the number of workers. A corrupt record or an
// undecodable page is counted in Stats and skipped, never fatal.
package prep
