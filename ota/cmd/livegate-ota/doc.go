// Command livegate-ota is the technician's and release engineer's tool for
// livegate updates: make root and signing keys, revoke signing keys, sign
// artifacts, verify and inspect them, publish them to a local release
// directory, and fetch them resumably over HTTPS. Uploading a release to the
// cloud and pushing it to devices come with the cloud's OTA API.
package main
