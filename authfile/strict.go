package authfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// members is the shape of the file, for checkMembers: the member names each
// object may have, exactly (encoding/json alone would accept "Name" for
// "name", and the last of two members of the same name).
type members map[string]members

var fileMembers = members{
	"principals": {
		"name": nil, "tokenSHA256": nil, "certCN": nil,
		"grants": {"prefix": nil, "access": nil},
	},
}

// checkMembers walks data and refuses a member that is not in the shape,
// by its exact name, and a member given twice in one object. Syntax errors
// are left to the decoder.
func checkMembers(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(shape members, path string) error
	walk = func(shape members, path string) error {
		tok, err := dec.Token()
		if err != nil {
			return errSyntax
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return errSyntax
				}
				name, _ := t.(string)
				sub, ok := shape[name]
				if !ok {
					return fmt.Errorf("unknown member %q in %s", name, path)
				}
				if seen[name] {
					return fmt.Errorf("member %q given twice in %s", name, path)
				}
				seen[name] = true
				if err := walk(sub, path+"."+name); err != nil {
					return err
				}
			}
			dec.Token() // '}'
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(shape, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			dec.Token() // ']'
		}
		return nil
	}
	if err := walk(fileMembers, "the file"); err != errSyntax {
		return err
	}
	return nil // the decoder reports it
}

// errSyntax stops checkMembers at a syntax error.
var errSyntax = errors.New("syntax error")
