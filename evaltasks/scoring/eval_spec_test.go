package scoring

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTaskSpecForms(t *testing.T) {
	tests := []struct {
		spec    string
		want    TaskSpec
		wantErr string
	}{
		{spec: "en:arc:data/ARC-Challenge-Test.jsonl:data/ARC-Challenge-Train.jsonl",
			want: TaskSpec{Group: "en", Format: "arc", Path: "data/ARC-Challenge-Test.jsonl", FewshotPath: "data/ARC-Challenge-Train.jsonl"}},
		{spec: "group=target,format=mmlu,path=C:/data/mmlu fr,v2/data",
			want: TaskSpec{Group: "target", Format: "mmlu", Path: "C:/data/mmlu fr,v2/data"}},
		{spec: "format=arc,path=/x:y/test.jsonl,fewshot=/x:y/train.jsonl,group=en",
			want: TaskSpec{Group: "en", Format: "arc", Path: "/x:y/test.jsonl", FewshotPath: "/x:y/train.jsonl"}},
		{spec: "group=en,format=arc", wantErr: "path= is missing"},
		{spec: "group=fr,format=arc,path=a", wantErr: `group "fr" must be en or target`},
		{spec: "group=en,path=a,path=b,format=arc", wantErr: "path= given twice"},
		{spec: "xx:arc:file", wantErr: "group"},
		{spec: "en:arc", wantErr: "want GROUP:FORMAT:PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseTaskSpec(tt.spec)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
