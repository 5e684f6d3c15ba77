package experiments

import "math"

// Summary is a sample's mean and sample standard deviation (dividing by
// n-1: the seeds are a sample of the runs one could have made). SD is 0
// when N < 2, where it is undefined; tables print no ± then.
type Summary struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	N    int     `json:"n"`
}

// Summarize returns xs's mean and sample standard deviation.
func Summarize(xs []float64) Summary {
	s := Summary{N: len(xs)}
	if s.N == 0 {
		return s
	}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(s.N)
	if s.N < 2 {
		return s
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - s.Mean) * (x - s.Mean)
	}
	s.SD = math.Sqrt(ss / float64(s.N-1))
	return s
}

// Row is one line of a table: a run's settings over its seeds.
type Row struct {
	Run      Run // the first seed's
	Seeds    []uint64
	Outcomes []Outcome
	// BitsPerByte summarizes the seeds' scores by held-out set name.
	BitsPerByte map[string]Summary
}

// Rows groups the outcomes by everything but the seed, in the order the
// runs were first given.
func (r Results) Rows() []Row {
	var rows []Row
	index := map[Run]int{}
	for _, o := range r.Outcomes {
		key := o.Run
		key.Seed, key.Ext.Seed = 0, 0
		i, ok := index[key]
		if !ok {
			i = len(rows)
			index[key] = i
			rows = append(rows, Row{Run: o.Run})
		}
		rows[i].Seeds = append(rows[i].Seeds, o.Run.Seed)
		rows[i].Outcomes = append(rows[i].Outcomes, o)
	}
	for i := range rows {
		rows[i].BitsPerByte = map[string]Summary{}
		for _, c := range r.Corpora.HeldOut() {
			var xs []float64
			for _, o := range rows[i].Outcomes {
				xs = append(xs, o.Scores[c.Name].BitsPerByte)
			}
			rows[i].BitsPerByte[c.Name] = Summarize(xs)
		}
	}
	return rows
}
