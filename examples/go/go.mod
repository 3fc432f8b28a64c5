// A Go loan service redeeming idverify tokens with the generated stubs in ../../gen/go.
module idverify/examples/go

go 1.19

require idverify/gen/go v0.0.0

replace idverify/gen/go => ../../gen/go
