package identity

import "errors"

// resourceIDField names where a resource id comes from: msiClientId
// holding one.
const resourceIDField = "msiClientId (a resource id)"

// selector is how a token request names the identity: the query parameter
// and its value, and the settings field it came from; all empty for the
// system-assigned identity.
type selector struct {
	param, value, field string
}

// selectorOf returns the one identity selector of opts.
func selectorOf(opts Options) (selector, error) {
	var sels []selector
	if opts.ClientID != "" {
		sels = append(sels, selector{"client_id", opts.ClientID, "msiClientId"})
	}
	if opts.ObjectID != "" {
		sels = append(sels, selector{"object_id", opts.ObjectID, "msiObjectId"})
	}
	if opts.ResourceID != "" {
		sels = append(sels, selector{"msi_res_id", opts.ResourceID, resourceIDField})
	}
	switch len(sels) {
	case 0:
		return selector{}, nil
	case 1:
		return sels[0], nil
	}
	return selector{}, errors.New("more than one user-assigned identity selected (client id, object id, resource id); give only one of msiClientId and msiObjectId")
}

// describe names the identity, such as "user-assigned identity 1234" or
// "user-assigned identity with object id 5678".
func (s selector) describe() string {
	switch s.param {
	case "client_id", "msi_res_id":
		return "user-assigned identity " + s.value
	case "object_id":
		return "user-assigned identity with object id " + s.value
	}
	return "system-assigned identity"
}
