package scoring

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nrgraph/nrgraph/evaltasks"
)

// taskSpecKey matches the start of a key=value field of a task spec; fields
// are split only there, so paths may hold colons and commas.
var taskSpecKey = regexp.MustCompile(`(^|,)(group|format|path|fewshot)=`)

func isKeyValueSpec(s string) bool {
	return strings.HasPrefix(s, "group=") || strings.HasPrefix(s, "format=") || strings.HasPrefix(s, "path=")
}

// parseKeyValueSpec parses group=G,format=F,path=P[,fewshot=P].
func parseKeyValueSpec(s string) (TaskSpec, error) {
	fields := map[string]string{}
	starts := taskSpecKey.FindAllStringSubmatchIndex(s, -1)
	for i, m := range starts {
		key := s[m[4]:m[5]]
		end := len(s)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		if _, dup := fields[key]; dup {
			return TaskSpec{}, fmt.Errorf("task %q: %s= given twice", s, key)
		}
		fields[key] = s[m[1]:end]
	}
	if len(starts) == 0 || starts[0][0] != 0 {
		return TaskSpec{}, fmt.Errorf("task %q: want group=en|target,format=FORMAT,path=PATH[,fewshot=PATH]", s)
	}
	t := TaskSpec{Group: fields["group"], Format: evaltasks.Format(fields["format"]), Path: fields["path"], FewshotPath: fields["fewshot"]}
	for _, key := range []string{"group", "format", "path"} {
		if fields[key] == "" {
			return t, fmt.Errorf("task %q: %s= is missing (want group=en|target,format=one of %v,path=PATH[,fewshot=PATH])", s, key, evaltasks.Formats())
		}
	}
	if t.Group != "en" && t.Group != "target" {
		return t, fmt.Errorf("task %q: group %q must be en or target", s, t.Group)
	}
	return t, nil
}
