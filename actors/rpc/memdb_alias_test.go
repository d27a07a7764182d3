package rpc_test

import "github.com/hashicorp/go-memdb"

type (
	memdbTxn      = memdb.Txn
	memdbWatchSet = memdb.WatchSet
)
