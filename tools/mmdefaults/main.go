// Command mmdefaults prints the configuration Mattermost ships with: an empty
// model.Config after SetDefaults, as indented JSON. Its output is the
// generated catalog/mattermost-defaults.json (see scripts/mattermost-defaults.sh).
package main

import (
	"encoding/json"
	"os"

	"github.com/mattermost/mattermost/server/public/model"
)

func main() {
	var cfg model.Config
	cfg.SetDefaults()
	out, err := json.MarshalIndent(&cfg, "", "  ")
	if err != nil {
		os.Stderr.WriteString("mmdefaults: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}
