// datamux/module.hpp - trainable building blocks.
//
// A Module owns named parameters (trainable leaves), named buffers (fixed state that is saved, e.g. a
// fixed Gaussian mux code) and named sub-modules. Names compose with dots and become checkpoint keys,
// as in PyTorch: "backbone.layers.0.attn.q_proj.weight". Register everything in the constructor.
#pragma once

#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>
#include <datamux/version.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace datamux {

class DATAMUX_API Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// All parameters, depth first, with dotted names relative to this module.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// Parameters and buffers together: what a checkpoint stores.
  std::vector<std::pair<std::string, Tensor>> state() const;
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;
  /// Every sub-module, depth first, with dotted names ("backbone.layers.0.dropout1"); not this one.
  /// Lets the runtime find state that is not a tensor, e.g. the random streams a resumed run restores.
  std::vector<std::pair<std::string, Module*>> named_modules() const;

  /// Training mode switches dropout etc.; applies to all sub-modules.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();

 protected:
  /// Registers a trainable leaf (sets requires_grad) and returns it.
  Tensor register_parameter(const std::string& name, Tensor value);
  /// Registers fixed state that is saved with the model but not trained.
  Tensor register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor>>& out) const;

  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace datamux
