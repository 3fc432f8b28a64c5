// Go code generated from proto/idverify/v1 (make the stubs with scripts/gen_go.sh). The module path is this
// repository's layout, not a public host: use it from another module with
//   require idverify/gen/go v0.0.0
//   replace idverify/gen/go => /path/to/idverify/gen/go
module idverify/gen/go

go 1.19

require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
