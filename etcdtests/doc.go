// Package etcdtests runs vkv's etcd backend against etcd servers embedded
// in the test process. It is a module of its own so that the root module
// does not depend on etcd's server.
package etcdtests
